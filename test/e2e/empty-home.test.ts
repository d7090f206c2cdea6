import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

/**
 * A new user's first commands, on an XTALK_HOME with nothing in it, through the built CLI (token and
 * whoami through the quick path too): the commands that only read create no store, and "nothing to
 * log out" is the same answer with or without --all.
 */

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function emptyHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-empty-'));
  homes.push(home);
  return home;
}

const env = (home: string) => ({
  XTALK_HOME: home,
  XTALK_CREDENTIAL_STORE: 'file',
  XTALK_ISSUER: 'https://id.example.test',
  XTALK_CLIENT_ID: 'cli',
});

describe('an empty XTALK_HOME', () => {
  it('read-only commands create nothing there (status, whoami, token, doctor, config get), and answer as before', async () => {
    const expected: [string[], number][] = [
      [['status'], 0],
      [['status', '--json'], 0],
      [['whoami'], 4],
      [['whoami', '--json'], 4],
      [['token'], 4],
      [['token', '--min-ttl', '60'], 4],
      [['config', 'get', 'scope'], 0],
      [['doctor', '--json'], 1],
    ];
    for (const [args, code] of expected) {
      const home = emptyHome();
      const res = await runCli(args, { env: env(home) });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(code);
      expect(readdirSync(home), args.join(' ')).toEqual([]);
    }
    // A home that does not exist yet is not made either.
    const missing = join(emptyHome(), 'not-yet');
    expect((await runCli(['status'], { env: env(missing) })).code).toBe(0);
    expect(readdirSync(join(missing, '..'))).toEqual([]);
  });

  it('logout with nobody signed in succeeds, with or without --all; a named account that is not there is still an error', async () => {
    for (const args of [['logout'], ['logout', '--all'], ['logout', '--browser']]) {
      const home = emptyHome();
      const res = await runCli(args, { env: env(home) });
      expect({ code: res.code, stdout: res.stdout, stderr: res.stderr }, args.join(' ')).toEqual({
        code: 0,
        stdout: '',
        stderr: 'No account is signed in.\n',
      });
      // Nothing to log out writes nothing: no store appears.
      expect(readdirSync(home), args.join(' ')).toEqual([]);
    }
    const named = await runCli(['logout', '--account', 'bob'], { env: env(emptyHome()) });
    expect(named.code).toBe(4);
    expect(named.stderr).toContain('No stored account matches "bob"');
  });
});
