import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installNote } from '../../src/cli/install-note.js';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';

const base = mkdtempSync(join(tmpdir(), 'xtalk-install-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A package folder at `root` (with `.git` when `git`), and the path of its built main.cjs. */
function packageAt(root: string, git = false): string {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{}');
  if (git) mkdirSync(join(root, '.git'));
  return join(root, 'dist', 'main.cjs');
}

describe('the install line of xtalk --help', () => {
  it('says npm only under node_modules, a git checkout beside .git, else where it runs', () => {
    expect(installNote('@iottalk/xtalk', packageAt(join(base, 'lib', 'node_modules', '@iottalk', 'xtalk')))).toBe(
      'Installed from npm as @iottalk/xtalk; upgrade with: npm install -g @iottalk/xtalk@latest',
    );
    const checkout = join(base, 'src', 'xtalk');
    expect(installNote('@iottalk/xtalk', packageAt(checkout, true))).toBe(
      `Running from a git checkout at ${checkout}; update with: git pull && npm run build`,
    );
    const unpacked = join(base, 'unpacked');
    expect(installNote('@iottalk/xtalk', packageAt(unpacked))).toBe(`Running from ${unpacked}.`);
  });

  it('in this checkout, xtalk --help does not claim an npm install', async () => {
    const ctx = createTestContext();
    expect(await run(['--help'], ctx)).toBe(0);
    const help = ctx.stdout.text + ctx.stderr.text;
    expect(help).not.toContain('Installed from npm');
    expect(help).toMatch(/^Running from /m);
  });
});
