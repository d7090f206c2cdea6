import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { CONFIG_FILE_KEYS } from '../../src/config/setting-names.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';

async function script(shell: string): Promise<string> {
  const ctx = createTestContext();
  expect(await run(['completion', shell], ctx)).toBe(0);
  return ctx.stdout.text;
}

/** Runs bash completion for the words typed so far; `xtalk __complete` is stubbed with two names. */
function complete(bashScript: string, words: string[]): string[] {
  const dir = createTestContext().home;
  const file = join(dir, 'xtalk.bash');
  writeFileSync(file, bashScript);
  const program = `xtalk() { printf 'alice\\nbob@example.test\\n'; }
source ${JSON.stringify(file)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_xtalk; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('xtalk completion', () => {
  it("bash completes commands, each command's flags, and stored accounts", async () => {
    const bash = await script('bash');
    expect(complete(bash, ['xtalk', 'lo'])).toEqual(['login', 'logout']);
    expect(complete(bash, ['xtalk', 'token', '--f'])).toEqual(['--format']);
    expect(complete(bash, ['xtalk', 'logout', '--'])).toEqual(
      expect.arrayContaining(['--all', '--force', '--keep-profile', '--account', '--help']),
    );
    expect(complete(bash, ['xtalk', 'whoami', '--account', ''])).toEqual(['alice', 'bob@example.test']);
    expect(complete(bash, ['xtalk', 'switch', 'b'])).toEqual(['bob@example.test']);
  });

  it('bash completes config sub-commands, then every config.json key after get, set and unset', async () => {
    const bash = await script('bash');
    expect(complete(bash, ['xtalk', 'config', ''])).toEqual(['get', 'set', 'unset', 'list', 'path']);
    expect(complete(bash, ['xtalk', 'config', 'u'])).toEqual(['unset']);
    expect(complete(bash, ['xtalk', 'config', 'set', ''])).toEqual([...CONFIG_FILE_KEYS]);
    expect(CONFIG_FILE_KEYS).toContain('insecure_http_origins');
    expect(complete(bash, ['xtalk', 'config', 'get', 'client_'])).toEqual(['client_id', 'client_secret']);
    expect(complete(bash, ['xtalk', 'config', 'unset', 'key'])).toEqual(['key_cache_seconds']);
    // No key after list, none after the key; flags as before.
    expect(complete(bash, ['xtalk', 'config', 'list', 'i'])).toEqual([]);
    expect(complete(bash, ['xtalk', 'config', 'set', 'issuer', 'i'])).toEqual([]);
    expect(complete(bash, ['xtalk', 'config', '--'])).toEqual(['--help']);
  });

  it('zsh and fish scripts complete config keys after get, set and unset', async () => {
    const zsh = await script('zsh');
    expect(zsh).toContain("compadd -- 'get' 'set' 'unset' 'list' 'path'");
    expect(zsh).toContain(`[[ \${words[3]} == (get|set|unset) ]]; then compadd -- ${CONFIG_FILE_KEYS.map((k) => `'${k}'`).join(' ')}`);
    const fish = await script('fish');
    expect(fish).toContain(`-a '${CONFIG_FILE_KEYS.join(' ')}'`);
    expect(fish).toContain(
      '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from get set unset; and test (count (commandline -opc)) -eq 3',
    );
  });

  it('zsh and fish scripts name every command and the account helper', async () => {
    for (const shell of ['zsh', 'fish']) {
      const text = await script(shell);
      for (const cmd of ['login', 'whoami', 'token', 'refresh', 'status', 'switch', 'logout', 'exec', 'config'])
        expect(text, shell).toContain(cmd);
      expect(text).toContain('xtalk __complete accounts');
    }
    expect(await script('fish')).toContain("complete -c xtalk -n '__fish_seen_subcommand_from token' -l format");
    expect(await script('fish')).toContain("complete -c xtalk -n '__fish_seen_subcommand_from logout' -l keep-profile");
    expect(await script('zsh')).toContain("'--keep-profile[");
  });

  it('rejects an unknown shell, and lists stored account names from the store', async () => {
    const ctx = createTestContext();
    expect(await run(['completion', 'powershell'], ctx)).toBe(2);
    const home = ctx.home;
    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    const grant = { accessToken: 'a', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 60_000, refreshToken: 'r' };
    await store.saveLogin(
      { issuer: 'https://i.example', sub: 's1', username: 'carol', email: 'carol@example.test', claims: {}, clientId: 'c' },
      grant,
      Date.now(),
    );
    store.close();
    const names = createTestContext({ home });
    expect(await run(['__complete', 'accounts'], names)).toBe(0);
    expect(names.stdout.text).toBe('carol\ncarol@example.test\n');
  });

  it('offers names with control or bidi characters escaped, and switch accepts that form back', async () => {
    const home = createTestContext().home;
    const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
    const grant = { accessToken: 'a', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 60_000, refreshToken: 'r' };
    for (const [sub, username] of [
      ['s1', 'evil\u202egnp.exe'],
      ['s2', 'two\nlines\u009b\u001b[2J'],
      ['s3', 'plain'],
    ]) {
      await store.saveLogin(
        { issuer: 'https://i.example', sub: sub!, username: username!, email: null, claims: {}, clientId: 'c' },
        grant,
        Date.now(),
      );
    }
    store.close();
    const names = createTestContext({ home });
    expect(await run(['__complete', 'accounts'], names)).toBe(0);
    expect(names.stdout.text).toBe('evil\\u202egnp.exe\ntwo\\u000alines\\u009b\\u001b[2J\nplain\n');
    for (const [offered, sub] of [
      ['evil\\u202egnp.exe', 's1'],
      ['two\\u000alines\\u009b\\u001b[2J', 's2'],
    ]) {
      const ctx = createTestContext({ home });
      expect(await run(['switch', offered!], ctx), ctx.stderr.text).toBe(0);
      const who = createTestContext({ home });
      expect(await run(['whoami', '--json'], who)).toBe(0);
      expect(JSON.parse(who.stdout.text).sub).toBe(sub);
    }
  });
});
