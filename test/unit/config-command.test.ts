import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { SETTING_DESCRIPTORS } from '../../src/config/settings.js';
import { createTestContext } from '../fakes/context.js';

async function xtalk(home: string, args: string[], stdin?: string) {
  const ctx = createTestContext({ home, stdin });
  const code = await run(args, ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

describe('xtalk config', () => {
  it('sets, gets, lists and unsets settings in a 0600 config.json that resolveConfig reads', async () => {
    const home = createTestContext().home;
    expect((await xtalk(home, ['config', 'set', 'issuer', 'https://account.iottalk.example/'])).code).toBe(0);
    expect((await xtalk(home, ['config', 'set', 'client_id', 'cli-client'])).code).toBe(0);
    expect((await xtalk(home, ['config', 'set', 'port', '8765'])).code).toBe(0);
    // Kept as given: a trailing slash is part of an issuer.
    expect((await xtalk(home, ['config', 'get', 'issuer'])).stdout).toBe('https://account.iottalk.example/\n');
    expect((await xtalk(home, ['config', 'path'])).stdout).toBe(join(home, 'config.json') + '\n');

    const file = join(home, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      issuer: 'https://account.iottalk.example/',
      client_id: 'cli-client',
      port: 8765,
    });
    const resolved = resolveConfig({ flags: {}, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
    expect(resolved).toMatchObject({ issuer: 'https://account.iottalk.example/', clientId: 'cli-client', port: 8765 });
    expect(resolved.sources.issuer).toBe('config');

    expect(JSON.parse((await xtalk(home, ['config', 'list', '--json'])).stdout)).toMatchObject({ client_id: 'cli-client' });
    expect((await xtalk(home, ['config', 'set', 'id_token_signing_alg', 'HS256'])).code).toBe(0);
    expect((await xtalk(home, ['config', 'set', 'token_endpoint_auth_method', 'client_secret_post'])).code).toBe(0);
    const withAuth = resolveConfig({ flags: {}, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
    expect(withAuth).toMatchObject({ idTokenSigningAlg: 'HS256', tokenAuthMethod: 'client_secret_post' });
    expect((await xtalk(home, ['config', 'unset', 'port'])).code).toBe(0);
    const missing = await xtalk(home, ['config', 'get', 'port']);
    expect(missing).toMatchObject({ code: 0, stdout: '0\n' });
    expect(missing.stderr).toContain('port is not set');
  });

  it('get: a setting not in the file shows its default, said to be the default on stderr; without a default it is not set (exit 1)', async () => {
    const home = createTestContext().home;
    const scope = await xtalk(home, ['config', 'get', 'scope']);
    expect(scope).toMatchObject({ code: 0, stdout: 'openid profile email offline_access\n' });
    expect(scope.stderr).toBe(`scope is not set in ${join(home, 'config.json')}; this is its default.\n`);
    expect(await xtalk(home, ['config', 'get', 'timeout'])).toMatchObject({ code: 0, stdout: '300\n' });
    expect(await xtalk(home, ['config', 'get', 'logout_browser'])).toMatchObject({ code: 0, stdout: 'never\n' });
    const issuer = await xtalk(home, ['config', 'get', 'issuer']);
    expect(issuer).toMatchObject({ code: 1, stdout: '' });
    expect(issuer.stderr).toContain('issuer is not set');
    await xtalk(home, ['config', 'set', 'scope', 'openid email']);
    expect(await xtalk(home, ['config', 'get', 'scope'])).toMatchObject({ code: 0, stdout: 'openid email\n', stderr: '' });
  });

  it('unset: a setting that was not set says so (no ✓ Removed), exits 0 and writes nothing', async () => {
    const home = createTestContext().home;
    const res = await xtalk(home, ['config', 'unset', 'port']);
    expect(res).toMatchObject({ code: 0, stdout: '' });
    expect(res.stderr).toBe(`port was not set in ${join(home, 'config.json')}; nothing to remove.\n`);
    expect(existsSync(join(home, 'config.json'))).toBe(false);
    await xtalk(home, ['config', 'set', 'port', '8765']);
    expect((await xtalk(home, ['config', 'unset', 'port'])).stderr).toContain('Removed port');
  });

  it("offers no --account: config.json is the machine's, not an account's", async () => {
    const home = createTestContext().home;
    for (const args of [
      ['config', 'get', 'scope', '--account', 'alice'],
      ['config', 'set', 'port', '1', '--account', 'alice'],
      ['config', 'list', '--account', 'alice'],
    ]) {
      expect((await xtalk(home, args)).code, args.join(' ')).toBe(2);
    }
    const help = await xtalk(home, ['config', 'get', '--help']);
    expect(help.stdout + help.stderr).not.toContain('--account');
  });

  it('takes the client secret from stdin only, stores it, and never prints it', async () => {
    const home = createTestContext().home;
    const argv = await xtalk(home, ['config', 'set', 'client_secret', 'hunter2-in-argv']);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('not accepted on the command line');

    expect((await xtalk(home, ['config', 'set', 'client_secret'], 's3cr3t-from-stdin\n')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).client_secret).toBe('s3cr3t-from-stdin');
    const list = await xtalk(home, ['config', 'list']);
    expect(list.stdout).toContain('client_secret=(set)');
    expect(list.stdout + list.stderr).not.toContain('s3cr3t');
    const get = await xtalk(home, ['config', 'get', 'client_secret']);
    expect(get.code).toBe(2);
    expect(get.stdout + get.stderr).not.toContain('s3cr3t');
    expect((await xtalk(home, ['config', 'set', 'client_secret'], '')).code).toBe(2);
  });

  it('refuses unknown keys and invalid values, leaving the file as it was', async () => {
    const home = createTestContext().home;
    await xtalk(home, ['config', 'set', 'scope', 'openid email']);
    const before = readFileSync(join(home, 'config.json'), 'utf8');
    for (const args of [
      ['config', 'set', 'colour', 'blue'],
      ['config', 'set', 'port', 'eighty'],
      ['config', 'set', 'issuer', 'http://account.iottalk.example'],
      ['config', 'set', 'credential_store', 'vault'],
      ['config', 'set', 'id_token_signing_alg', 'none'],
      ['config', 'set', 'token_endpoint_auth_method', 'private_key_jwt'],
      ['config', 'get', 'colour'],
    ]) {
      const res = await xtalk(home, args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain('hint:');
    }
    expect(readFileSync(join(home, 'config.json'), 'utf8')).toBe(before);
  });

  it('accepts exactly the config.json keys of the settings descriptors, and names them when refusing one', async () => {
    const home = createTestContext().home;
    await xtalk(home, ['config', 'set', 'scope', 'openid email']);
    const before = readFileSync(join(home, 'config.json'), 'utf8');
    for (const args of [
      ['config', 'unset', 'colour'],
      ['config', 'get', 'XTALK_PORT'],
      ['config', 'set', 'clientId', 'c'],
      ['config', 'set', 'OAUTH2_CLIENT_ID', 'c'],
    ]) {
      const res = await xtalk(home, args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(`Unknown setting "${args[2]}"`);
      for (const d of SETTING_DESCRIPTORS) expect(res.stderr).toContain(d.file);
    }
    expect(readFileSync(join(home, 'config.json'), 'utf8')).toBe(before);
    for (const d of SETTING_DESCRIPTORS.filter((x) => !x.secret)) {
      const res = await xtalk(home, ['config', 'unset', d.file]);
      expect(res.code, d.file).toBe(0);
    }
  });
});
