import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveApiUrl } from '../../src/commands/api.js';
import { checkConfigFileValue, resolveConfig } from '../../src/config/resolve.js';
import { checkConfig } from '../../src/doctor/config-check.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { isInvalidToken } from '../../src/net/api-http.js';

function resolveWith(env: Record<string, string>, config?: object) {
  const home = join(mkdtempSync(join(tmpdir(), 'xtalk-api-settings-')), 'home');
  mkdirSync(home);
  if (config) writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  return resolveConfig({ flags: {}, env: { XTALK_HOME: home, ...env }, cwd: home, platform: 'linux' });
}

describe('api_url and logout_browser settings', () => {
  it('come from the environment over config.json, with defaults', () => {
    expect(resolveWith({})).toMatchObject({ apiUrl: undefined, logoutBrowser: 'never' });
    const file = { api_url: 'https://file.example/api', logout_browser: 'always' };
    expect(resolveWith({}, file)).toMatchObject({ apiUrl: 'https://file.example/api', logoutBrowser: 'always' });
    expect(resolveWith({ XTALK_API_URL: 'http://127.0.0.1:8080', XTALK_LOGOUT_BROWSER: 'never' }, file)).toMatchObject({
      apiUrl: 'http://127.0.0.1:8080',
      logoutBrowser: 'never',
    });
  });

  it('refuse bad values with where they came from', () => {
    expect(() => resolveWith({ XTALK_API_URL: 'http://iottalk.example/api' })).toThrow(/API URL must use https:.*\(from XTALK_API_URL\)/);
    expect(() => resolveWith({}, { logout_browser: 'sometimes' })).toThrow(ConfigError);
    expect(checkConfigFileValue('logout_browser', ' Always ')).toBe('always');
    expect(checkConfigFileValue('api_url', 'https://iottalk.example/api')).toBe('https://iottalk.example/api');
    expect(() => checkConfigFileValue('api_url', 'ftp://x')).toThrow(ConfigError);
  });
});

describe('insecure_http_origins', () => {
  it('comes from the environment or config.json, never from .env, and lets api_url be plain http to a listed origin', () => {
    expect(resolveWith({}).insecureHttpOrigins).toEqual([]);
    const listed = resolveWith({ XTALK_INSECURE_HTTP_ORIGINS: 'http://Lab.example:8080, http://other.example:80' });
    expect(listed.insecureHttpOrigins).toEqual(['http://lab.example:8080', 'http://other.example']);
    const file = resolveWith({}, { insecure_http_origins: 'http://lab.example:8080', api_url: 'http://lab.example:8080/api' });
    expect(file).toMatchObject({ insecureHttpOrigins: ['http://lab.example:8080'], apiUrl: 'http://lab.example:8080/api' });
    expect(() =>
      resolveWith({ XTALK_API_URL: 'http://lab.example:9090/api' }, { insecure_http_origins: 'http://lab.example:8080' }),
    ).toThrow(/API URL must use https:/);

    const home = join(mkdtempSync(join(tmpdir(), 'xtalk-api-settings-')), 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.env'), 'XTALK_INSECURE_HTTP_ORIGINS=http://lab.example:8080\n');
    const fromDotenv = resolveConfig({ flags: {}, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
    expect(fromDotenv.insecureHttpOrigins).toEqual([]);
    expect(fromDotenv.dotenv?.unused).toEqual([{ name: 'XTALK_INSECURE_HTTP_ORIGINS', why: 'not-allowed' }]);
  });

  it('takes only http: origins, and `xtalk config set api_url` an http URL only once the file lists its origin', () => {
    for (const bad of ['https://lab.example', 'http://lab.example/path', 'lab.example', 'http://u:p@lab.example']) {
      expect(() => resolveWith({ XTALK_INSECURE_HTTP_ORIGINS: bad }), bad).toThrow(ConfigError);
    }
    expect(checkConfigFileValue('insecure_http_origins', 'http://A.example:81 http://b.example')).toBe(
      'http://a.example:81,http://b.example',
    );
    expect(() => checkConfigFileValue('api_url', 'http://a.example:81/api')).toThrow(ConfigError);
    expect(checkConfigFileValue('api_url', 'http://a.example:81/api', { insecure_http_origins: 'http://a.example:81' })).toBe(
      'http://a.example:81/api',
    );
  });

  it('is shown by `xtalk doctor` with where it came from', () => {
    const home = join(mkdtempSync(join(tmpdir(), 'xtalk-api-settings-')), 'home');
    mkdirSync(home);
    const env = {
      XTALK_HOME: home,
      XTALK_ISSUER: 'https://id.example',
      XTALK_CLIENT_ID: 'c',
      XTALK_INSECURE_HTTP_ORIGINS: 'http://lab.example:8080',
    };
    expect(
      checkConfig({ ctx: { cwd: home }, config: () => resolveConfig({ flags: {}, env, cwd: home, platform: 'linux' }) }).result.detail,
    ).toContain('bearer token allowed over plain http to http://lab.example:8080 (environment)');
  });
});

describe('xtalk api URLs', () => {
  it('joins a relative path to the base with exactly one slash, keeping the query', () => {
    for (const base of ['https://iottalk.example/api', 'https://iottalk.example/api/']) {
      for (const path of ['devices', '/devices']) expect(resolveApiUrl(path, base).href).toBe('https://iottalk.example/api/devices');
    }
    expect(resolveApiUrl('devices?limit=2&q=a b', 'https://iottalk.example').href).toBe('https://iottalk.example/devices?limit=2&q=a%20b');
    expect(resolveApiUrl('https://other.example/x', 'https://iottalk.example').href).toBe('https://other.example/x');
    expect(() => resolveApiUrl('devices', undefined)).toThrow(UsageError);
  });

  it('recognises invalid_token in the challenge or a JSON body, and nothing else', async () => {
    const r = (status: number, headers: Record<string, string>, body = '') => new Response(body, { status, headers });
    expect(
      await isInvalidToken(r(401, { 'www-authenticate': 'Bearer realm="x", error="invalid_token", error_description="expired"' })),
    ).toBe(true);
    expect(await isInvalidToken(r(401, { 'www-authenticate': 'Bearer error=invalid_token' }))).toBe(true);
    expect(await isInvalidToken(r(401, { 'content-type': 'application/json' }, '{"error":"invalid_token"}'))).toBe(true);
    expect(await isInvalidToken(r(401, { 'www-authenticate': 'Bearer realm="x"' }))).toBe(false);
    expect(await isInvalidToken(r(401, { 'www-authenticate': 'Basic realm="x", error="invalid_token"' }))).toBe(false);
    expect(await isInvalidToken(r(401, { 'content-type': 'application/json' }, '{"error":"insufficient_scope"}'))).toBe(false);
    expect(await isInvalidToken(r(403, { 'www-authenticate': 'Bearer error="invalid_token"' }))).toBe(false);
  });
});
