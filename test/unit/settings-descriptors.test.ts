import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { SECRET_FILE_KEYS, SETTING_DESCRIPTORS, type SettingDescriptor } from '../../src/config/settings.js';
import { CONFIG_KEYS } from '../../src/core/settings-sources.js';
import { OTHER_VARIABLES } from '../../src/commands/help.js';
import { createTestContext } from '../fakes/context.js';

const ROOT = join(import.meta.dirname, '../..');
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const CONFIGURATION = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');

/** The rows of docs/configuration.md's settings table, each as its cells (header and rule left out). */
function configurationTable(page: string): string[][] {
  const section = page.split(/^## Settings \(highest wins\)$/m)[1]?.split(/^#{2,} /m)[0] ?? '';
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) =>
    l
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim()),
  );
}

const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** What the settings table says differently from the descriptors: one line per disagreement, empty when they agree. */
function disagreements(page: string, descriptors: readonly SettingDescriptor[]): string[] {
  const rows = configurationTable(page);
  const problems: string[] = [];
  for (const d of descriptors) {
    // Columns: setting | flag | environment | .env | config.json | default
    const row = rows.find((cells) => codeSpans(cells[2] ?? '')[0] === d.env);
    if (!row) {
      problems.push(`${d.env}: no row`);
      continue;
    }
    const [, flag, , dotenv, file] = row;
    if ((codeSpans(dotenv!)[0] ?? null) !== d.dotenv) problems.push(`${d.env}: .env cell "${dotenv}", descriptor ${d.dotenv}`);
    if (codeSpans(file!).join() !== d.file) problems.push(`${d.env}: config.json cell "${file}", descriptor ${d.file}`);
    if (d.flag !== null && codeSpans(flag!).join() !== d.flag) problems.push(`${d.env}: flag cell "${flag}", descriptor ${d.flag}`);
  }
  // A config.json key in the table that no setting has.
  for (const row of rows) {
    const file = codeSpans(row[4] ?? '')[0];
    if (file !== undefined && !descriptors.some((d) => d.file === file))
      problems.push(`config.json key ${file} in the table: no such setting`);
  }
  return problems;
}

describe('the settings descriptors (src/config/settings.ts)', () => {
  it('cover every ConfigKey once, and the client secret is the one secret, with no flag', () => {
    expect(SETTING_DESCRIPTORS.map((d) => d.key)).toEqual(CONFIG_KEYS);
    expect(SECRET_FILE_KEYS).toEqual(['client_secret']);
    expect(SETTING_DESCRIPTORS.find((d) => d.secret)!.flag).toBeNull();
    expect(SETTING_DESCRIPTORS.filter((d) => d.flag !== null).map((d) => d.flag)).toEqual([
      '--issuer',
      '--client-id',
      '--scope',
      '--port',
      '--timeout',
    ]);
  });

  it('drive resolveConfig: each flag as named, each default where a descriptor has one', () => {
    const home = createTestContext().home;
    const flags = { issuer: 'https://idp.example', clientId: 'c', scope: 'openid', port: '8765', timeout: '9' };
    const c = resolveConfig({ flags, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
    for (const d of SETTING_DESCRIPTORS.filter((x) => x.flag !== null)) {
      expect(c.sources[d.key], d.key).toBe('flag');
      expect(c.origins[d.key], d.key).toBe(d.flag);
    }
    const bare = resolveConfig({ flags: {}, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
    const defaulted = SETTING_DESCRIPTORS.filter((d) => d.defaultText !== null).map((d) => d.key);
    expect(Object.keys(bare.sources).sort()).toEqual([...defaulted].sort());
    expect(bare).toMatchObject({
      port: 0,
      timeoutSeconds: 300,
      httpTimeoutSeconds: 30,
      credentialStore: 'auto',
      keyCacheSeconds: 600,
      logoutBrowser: 'never',
      insecureHttpOrigins: [],
    });
  });
});

describe('xtalk help environment', () => {
  it('lists every setting with its config.json key, its .env name or never, and its default; then the other variables', async () => {
    const ctx = createTestContext();
    expect(await run(['help', 'environment'], ctx)).toBe(0);
    const out = ctx.stdout.text;
    expect(ctx.stderr.text).toBe('');
    for (const d of SETTING_DESCRIPTORS) {
      const block = out.split(/\n\n/).find((b) => b.startsWith(`${d.env}\n`));
      expect(block, d.env).toBeDefined();
      expect(block).toContain(`config.json: ${d.file} · `);
      expect(block).toContain(`.env: ${d.dotenv ?? 'never'} · `);
      expect(block).toContain(`default: ${d.defaultText ?? 'unset'}`);
      expect(block).toContain(d.description);
    }
    expect(out).toContain('XTALK_CLIENT_SECRET\n');
    expect(out).toContain('.env: OAUTH2_CLIENT_SECRET');
    expect(out).toContain('XTALK_API_URL\n  base URL that relative API paths');
    expect(out).toMatch(/XTALK_API_URL\n.*\n.*\.env: never/);
    expect(out).toContain('default: 300 s');
    for (const v of OTHER_VARIABLES) expect(out).toContain(`  ${v.names}\n`);
    expect(out).toContain('XTALK_HOME');
    expect(out).toContain('XTALK_BROWSER, else BROWSER');
  });

  it('leaves help, help COMMAND and an unknown topic as they were', async () => {
    const all = createTestContext();
    expect(await run(['help'], all)).toBe(0);
    expect(all.stdout.text).toContain('Usage: xtalk [options] [command]');
    expect(all.stdout.text).toMatch(/help \[topic\] +display help for command, or for "environment"/);
    const login = createTestContext();
    expect(await run(['help', 'login'], login)).toBe(0);
    expect(login.stdout.text).toContain('Usage: xtalk login [options]');
    const nested = createTestContext();
    expect(await run(['config', 'help', 'set'], nested)).toBe(0);
    expect(nested.stdout.text).toContain('Usage: xtalk config set');
    const unknown = createTestContext();
    expect(await run(['help', 'nope'], unknown)).toBe(2);
    expect(unknown.stdout.text).toBe('');
    expect(unknown.stderr.text).toBe("✗ unknown help topic 'nope'\n  hint: Run `xtalk --help` for usage.\n");
  });

  it('names every variable src/ and bin/ read (by `env.NAME`), and says a .env sets none of the others', async () => {
    const ctx = createTestContext();
    expect(await run(['help', 'environment'], ctx)).toBe(0);
    const out = ctx.stdout.text;
    const read = new Set<string>();
    for (const file of [...sourceFiles(join(ROOT, 'src')), join(ROOT, 'bin/xtalk.cjs')]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)\b/g)) read.add(m[1]!);
    }
    // Set by the crash tests only.
    read.delete('XTALK_TEST_FAULT_POINT');
    for (const name of ['XTALK_DEBUG', 'FORCE_COLOR', 'CLICOLOR_FORCE', 'NO_COLOR']) expect(read, name).toContain(name);
    const missing = [...read].filter((name) => !new RegExp(`(^|[ ,])${name}(\n|,| )`, 'm').test(out));
    expect(missing).toEqual([]);
    expect(out).toMatch(/Also read \(never from a \.env\):\n(.*\n)*  XTALK_DEBUG\n    1: diagnostics on stderr/);
  });

  it('a .env in the current folder cannot turn on XTALK_DEBUG: the notice lists it as not used', async () => {
    const ctx = createTestContext();
    writeFileSync(join(ctx.home, '.env'), 'XTALK_DEBUG=1\nOAUTH2_CLIENT_ID=c\nOIDC_DISCOVERY_ENDPOINT=http://127.0.0.1:9\n');
    expect(await run(['status'], ctx)).toBe(0);
    expect(ctx.stderr.text).not.toContain('[debug]');
    const flagged = createTestContext({ home: ctx.home });
    expect(await run(['status', '--debug'], flagged)).toBe(0);
    expect(flagged.stderr.text).toContain('[debug]');
    const login = createTestContext({ home: ctx.home });
    await run(['login', '--no-browser', '--timeout', '1'], login);
    expect(login.stderr.text).not.toContain('[debug]');
    expect(login.stderr.text).toMatch(/XTALK_DEBUG/);
  });
});

describe("docs/configuration.md's settings table", () => {
  it("has a row for every setting, with the descriptor's variable, .env name, config.json key and flag", () => {
    expect(configurationTable(CONFIGURATION).length).toBeGreaterThanOrEqual(SETTING_DESCRIPTORS.length);
    expect(disagreements(CONFIGURATION, SETTING_DESCRIPTORS)).toEqual([]);
  });

  it('the check notices a missing row, a wrong .env cell and a stray config.json key', () => {
    const without = CONFIGURATION.split('\n')
      .filter((l) => !l.includes('`XTALK_PORT`'))
      .join('\n');
    expect(disagreements(without, SETTING_DESCRIPTORS)).toEqual(['XTALK_PORT: no row']);
    const dotenv = CONFIGURATION.replace('| `XTALK_SCOPE` | |', '| `XTALK_SCOPE` | `OAUTH2_SCOPE` |');
    expect(dotenv).not.toBe(CONFIGURATION);
    expect(disagreements(dotenv, SETTING_DESCRIPTORS)).toEqual(['XTALK_SCOPE: .env cell "`OAUTH2_SCOPE`", descriptor null']);
    const stray = SETTING_DESCRIPTORS.filter((d) => d.key !== 'apiUrl');
    expect(disagreements(CONFIGURATION, stray)).toEqual(['config.json key api_url in the table: no such setting']);
  });
});
