import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dotenvNotice } from '../../src/config/dotenv-notice.js';
import { parseDotenv } from '../../src/config/dotenv.js';
import { requireClientConfig, resolveConfig } from '../../src/config/resolve.js';
import { resolvePaths } from '../../src/config/paths.js';
import { ConfigError, UsageError } from '../../src/errors.js';

function setup(files: { dotenv?: string; config?: object } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-config-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  if (files.dotenv !== undefined) writeFileSync(join(dir, '.env'), files.dotenv);
  if (files.config) writeFileSync(join(home, 'config.json'), JSON.stringify(files.config));
  return { cwd: dir, env: { XTALK_HOME: home } as Record<string, string | undefined> };
}

describe('resolveConfig precedence', () => {
  it('flags beat env beat config file beat .env beat defaults', () => {
    const { cwd, env } = setup({
      dotenv:
        'OIDC_DISCOVERY_ENDPOINT=https://dotenv.example\nOAUTH2_CLIENT_ID=dotenv-client\nOAUTH2_CLIENT_SECRET=dotenv-secret\nOAUTH2_REVOCATION_ENDPOINT=https://dotenv.example/revoke',
      config: {
        issuer: 'https://file.example',
        scope: 'openid file',
        port: 3002,
        timeout: 42,
        revocation_endpoint: 'https://file.example/revoke',
      },
    });
    env.XTALK_ISSUER = 'https://env.example';
    env.XTALK_SCOPE = 'openid env';
    env.XTALK_CLIENT_SECRET = 'env-secret';
    const c = resolveConfig({ flags: { issuer: 'https://flag.example' }, env, cwd, platform: 'linux' });
    expect(c.issuer).toBe('https://flag.example');
    expect(c.sources.issuer).toBe('flag');
    expect(c.scope).toBe('openid env');
    expect(c.sources.scope).toBe('env');
    expect(c.clientId).toBe('dotenv-client');
    expect(c.sources.clientId).toBe('.env');
    expect(c.clientSecret).toBe('env-secret');
    expect(c.port).toBe(3002);
    expect(c.timeoutSeconds).toBe(42);
    expect(c.sources.timeout).toBe('config');
    expect(c.revocationEndpoint).toBe('https://file.example/revoke');
    expect(c.dotenv).toEqual({
      path: join(cwd, '.env'),
      used: ['OAUTH2_CLIENT_ID'],
      unused: [
        { name: 'OIDC_DISCOVERY_ENDPOINT', why: 'overridden', by: 'flag' },
        { name: 'OAUTH2_CLIENT_SECRET', why: 'overridden', by: 'environment' },
        { name: 'OAUTH2_REVOCATION_ENDPOINT', why: 'overridden', by: 'config.json' },
      ],
    });
  });

  it('uses the defaults when nothing is set', () => {
    const { cwd, env } = setup();
    const c = resolveConfig({ flags: {}, env, cwd, platform: 'linux' });
    expect(c).toMatchObject({ issuer: undefined, port: 0, timeoutSeconds: 300, scope: undefined, credentialStore: 'auto' });
    expect(() => requireClientConfig(c)).toThrow(UsageError);
    try {
      requireClientConfig(c);
    } catch (e) {
      expect((e as UsageError).exitCode).toBe(2);
      expect((e as UsageError).hint).toContain('XTALK_ISSUER');
    }
  });

  it('reads the X-Talk web example names from .env', () => {
    const { cwd, env } = setup({
      dotenv: [
        '# X-Talk example',
        'OIDC_DISCOVERY_ENDPOINT="https://account.iottalk.tw/.well-known/openid-configuration"',
        "OAUTH2_CLIENT_ID='xtalk-web'",
        'OAUTH2_CLIENT_SECRET=s3cret # comment',
        'OAUTH2_REVOCATION_ENDPOINT=https://account.iottalk.tw/oauth2/revoke/',
      ].join('\n'),
    });
    const c = resolveConfig({ flags: {}, env, cwd, platform: 'linux' });
    expect(c.issuer).toBe('https://account.iottalk.tw');
    expect(c.clientId).toBe('xtalk-web');
    expect(c.clientSecret).toBe('s3cret');
    expect(c.revocationEndpoint).toBe('https://account.iottalk.tw/oauth2/revoke/');
  });

  it('takes only the four X-Talk names from .env, never its XTALK_* names, and none over the environment or config.json', () => {
    const { cwd, env } = setup({
      dotenv:
        'OAUTH2_CLIENT_ID=web\nXTALK_CLIENT_ID=cli\nOAUTH2_CLIENT_SECRET=a\nXTALK_API_URL=http://127.0.0.1:9/collect\nXTALK_ID_TOKEN_SIGNING_ALG=HS256\nXTALK_SCOPE=openid',
      config: { client_id: 'from-file', api_url: 'https://api.example' },
    });
    env.XTALK_CLIENT_SECRET = 'from-env';
    const c = resolveConfig({ flags: {}, env, cwd, platform: 'linux' });
    expect(c).toMatchObject({
      clientId: 'from-file',
      clientSecret: 'from-env',
      apiUrl: 'https://api.example',
      idTokenSigningAlg: undefined,
      scope: undefined,
    });
    expect(c.dotenv?.used).toEqual([]);
    expect(dotenvNotice(c)).toBe(
      `Not using from ${join(cwd, '.env')}: OAUTH2_CLIENT_ID (config.json gives it); XTALK_CLIENT_ID, XTALK_API_URL, XTALK_ID_TOKEN_SIGNING_ALG, XTALK_SCOPE (a .env may not set xtalk names; only the environment or config.json may); OAUTH2_CLIENT_SECRET (the environment gives it).`,
    );
  });

  it('rejects a non-URL issuer, plain http off loopback, bad ports and unknown stores', () => {
    const { cwd, env } = setup();
    const r =
      (flags: object, extra: Record<string, string> = {}) =>
      () =>
        resolveConfig({ flags, env: { ...env, ...extra }, cwd, platform: 'linux' });
    expect(r({ issuer: 'not a url' })).toThrow(/not a URL/);
    expect(r({ issuer: 'http://account.iottalk.tw' })).toThrow(/https/);
    expect(r({ issuer: 'ftp://127.0.0.1' })).toThrow(ConfigError);
    expect(r({ issuer: 'http://127.0.0.1:3000' })()).toMatchObject({ issuer: 'http://127.0.0.1:3000' });
    expect(r({ issuer: 'http://[::1]:3000/' })()).toMatchObject({ issuer: 'http://[::1]:3000/' });
    expect(r({ port: '70000' })).toThrow(/port/);
    expect(r({ port: 'abc' })).toThrow(/port/);
    expect(r({ timeout: '-1' })).toThrow(/timeout/);
    expect(r({}, { XTALK_CREDENTIAL_STORE: 'vault' })).toThrow(/credential store/);
    expect(r({}, { XTALK_CREDENTIAL_STORE: 'file' })()).toMatchObject({ credentialStore: 'file' });
  });

  it('keeps the issuer exactly as given and takes a full discovery URL (with or without a trailing slash) verbatim', () => {
    const { cwd, env } = setup();
    const c = (issuer: string) => resolveConfig({ flags: { issuer }, env, cwd, platform: 'linux' });
    expect(c('https://tenant.example/')).toMatchObject({ issuer: 'https://tenant.example/', discoveryUrl: undefined });
    expect(c('https://idp.example/oidc/')).toMatchObject({ issuer: 'https://idp.example/oidc/', discoveryUrl: undefined });
    expect(c('https://idp.example/o/.well-known/openid-configuration/')).toMatchObject({
      issuer: 'https://idp.example/o',
      discoveryUrl: 'https://idp.example/o/.well-known/openid-configuration/',
    });
    expect(c('https://idp.example/o/.well-known/openid-configuration')).toMatchObject({
      issuer: 'https://idp.example/o',
      discoveryUrl: 'https://idp.example/o/.well-known/openid-configuration',
    });
    const fromEnv = resolveConfig({
      flags: {},
      env: { ...env, XTALK_ISSUER: 'https://idp.example/.well-known/openid-configuration/' },
      cwd,
      platform: 'linux',
    });
    expect(fromEnv).toMatchObject({ issuer: 'https://idp.example', discoveryUrl: 'https://idp.example/.well-known/openid-configuration/' });
    const dot = setup({ dotenv: 'OIDC_DISCOVERY_ENDPOINT=http://127.0.0.1:8000/o/.well-known/openid-configuration/' });
    expect(resolveConfig({ flags: {}, env: dot.env, cwd: dot.cwd, platform: 'linux' })).toMatchObject({
      issuer: 'http://127.0.0.1:8000/o',
      discoveryUrl: 'http://127.0.0.1:8000/o/.well-known/openid-configuration/',
    });
  });

  it('reads the ID-token alg and the token endpoint auth method through the same precedence, and refuses bad values', () => {
    const { cwd, env } = setup({ config: { id_token_signing_alg: 'RS256', token_endpoint_auth_method: 'client_secret_post' } });
    const r = (extra: Record<string, string> = {}) => resolveConfig({ flags: {}, env: { ...env, ...extra }, cwd, platform: 'linux' });
    expect(r()).toMatchObject({
      idTokenSigningAlg: 'RS256',
      tokenAuthMethod: 'client_secret_post',
      sources: { idTokenSigningAlg: 'config', tokenAuthMethod: 'config' },
    });
    expect(r({ XTALK_ID_TOKEN_SIGNING_ALG: 'HS256', XTALK_TOKEN_AUTH_METHOD: 'none' })).toMatchObject({
      idTokenSigningAlg: 'HS256',
      tokenAuthMethod: 'none',
      sources: { idTokenSigningAlg: 'env', tokenAuthMethod: 'env' },
    });
    expect(() => r({ XTALK_ID_TOKEN_SIGNING_ALG: 'none' })).toThrow(/signing algorithm.*XTALK_ID_TOKEN_SIGNING_ALG/);
    expect(() => r({ XTALK_TOKEN_AUTH_METHOD: 'private_key_jwt' })).toThrow(/auth method.*XTALK_TOKEN_AUTH_METHOD/);
    const plain = setup();
    expect(resolveConfig({ flags: {}, env: plain.env, cwd: plain.cwd, platform: 'linux' })).toMatchObject({
      idTokenSigningAlg: undefined,
      tokenAuthMethod: undefined,
    });
  });

  it('reports a malformed config file clearly', () => {
    const { cwd, env } = setup();
    writeFileSync(join(env.XTALK_HOME!, 'config.json'), '{ not json');
    expect(() => resolveConfig({ flags: {}, env, cwd, platform: 'linux' })).toThrow(/not a JSON object/);
  });

  it('takes the browser from XTALK_BROWSER before BROWSER', () => {
    const { cwd, env } = setup();
    expect(resolveConfig({ flags: {}, env: { ...env, BROWSER: 'b', XTALK_BROWSER: 'x' }, cwd, platform: 'linux' }).browser).toBe('x');
    expect(resolveConfig({ flags: {}, env: { ...env, BROWSER: 'b' }, cwd, platform: 'linux' }).browser).toBe('b');
  });
});

describe('paths', () => {
  it('puts everything in XTALK_HOME when set', () => {
    const p = resolvePaths({ XTALK_HOME: '/x' }, 'linux');
    expect(p).toMatchObject({ dbPath: '/x/xtalk.db', configFile: '/x/config.json', keyFilePath: '/x/xtalk.key' });
  });
  it('follows XDG on Linux', () => {
    const p = resolvePaths({ HOME: '/h', XDG_DATA_HOME: '/d', XDG_CONFIG_HOME: '/c' }, 'linux');
    expect(p.dbPath).toBe('/d/xtalk/xtalk.db');
    expect(p.configFile).toBe('/c/xtalk/config.json');
    expect(resolvePaths({ HOME: '/h' }, 'linux').dbPath).toBe('/h/.local/share/xtalk/xtalk.db');
  });
});

describe('parseDotenv', () => {
  it('handles export, quotes, comments and blank lines', () => {
    expect(parseDotenv('export A=1\n\n# c\nB="two words"\nC=\'x#y\'\nD=v # trailing\nbad line')).toEqual({
      A: '1',
      B: 'two words',
      C: 'x#y',
      D: 'v',
    });
  });
});

describe('key cache time (XTALK_KEY_CACHE_SECONDS / key_cache_seconds)', () => {
  it('defaults to 600 s; env beats config.json; 0 turns it off; an s suffix is allowed', () => {
    const { cwd, env } = setup({ config: { key_cache_seconds: 60 } });
    expect(resolveConfig({ flags: {}, env, cwd, platform: 'linux' })).toMatchObject({ keyCacheSeconds: 60 });
    expect(resolveConfig({ flags: {}, env: { ...env, XTALK_KEY_CACHE_SECONDS: '0' }, cwd, platform: 'linux' }).keyCacheSeconds).toBe(0);
    expect(resolveConfig({ flags: {}, env: { ...env, XTALK_KEY_CACHE_SECONDS: '30s' }, cwd, platform: 'linux' }).keyCacheSeconds).toBe(30);
    const bare = setup();
    const c = resolveConfig({ flags: {}, env: bare.env, cwd: bare.cwd, platform: 'linux' });
    expect(c.keyCacheSeconds).toBe(600);
    expect(c.sources.keyCacheSeconds).toBe('default');
  });

  it('a .env in the current folder cannot set it (it decides how long the key stays outside the keychain)', () => {
    const { cwd, env } = setup({ dotenv: 'XTALK_KEY_CACHE_SECONDS=86400\nOAUTH2_CLIENT_ID=from-dotenv\nSECRET_KEY=django' });
    const c = resolveConfig({ flags: {}, env, cwd, platform: 'linux' });
    expect(c.clientId).toBe('from-dotenv');
    expect(c.keyCacheSeconds).toBe(600);
    expect(c.dotenv?.used).toEqual(['OAUTH2_CLIENT_ID']);
    expect(c.dotenv?.unused).toEqual([
      { name: 'XTALK_KEY_CACHE_SECONDS', why: 'not-allowed' },
      { name: 'SECRET_KEY', why: 'unknown' },
    ]);
    // Every command says so on stderr.
    expect(dotenvNotice(c)).toBe(
      `Using OAUTH2_CLIENT_ID from ${join(cwd, '.env')} (a .env file in the current folder). Not using from it: XTALK_KEY_CACHE_SECONDS (a .env may not set xtalk names; only the environment or config.json may); SECRET_KEY (not xtalk settings).`,
    );
    const only = setup({ dotenv: 'XTALK_KEY_CACHE_SECONDS=0' });
    expect(dotenvNotice(resolveConfig({ flags: {}, env: only.env, cwd: only.cwd, platform: 'linux' }))).toBe(
      `Not using from ${join(only.cwd, '.env')}: XTALK_KEY_CACHE_SECONDS (a .env may not set xtalk names; only the environment or config.json may).`,
    );
    // Another program's .env (nothing of xtalk's in it) gets no line.
    const other = setup({ dotenv: 'SECRET_KEY=django\nDEBUG=1' });
    expect(dotenvNotice(resolveConfig({ flags: {}, env: other.env, cwd: other.cwd, platform: 'linux' }))).toBeUndefined();
  });

  it.each(['-1', '1.5', 'ten', '86401', ''])('refuses %j with a hint naming the range', (raw) => {
    const { cwd, env } = setup({ config: { key_cache_seconds: raw === '' ? ' ' : raw } });
    try {
      resolveConfig({ flags: {}, env, cwd, platform: 'linux' });
      expect.fail('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/Invalid key cache time .*key_cache_seconds/);
      expect((e as ConfigError).hint).toBe('Give whole seconds from 0 (no key cache) to 86400, e.g. XTALK_KEY_CACHE_SECONDS=600.');
    }
  });
});
