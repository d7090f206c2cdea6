import { describe, expect, it } from 'vitest';
import { judgeBearerDestination, parseOrigin, type BearerPolicy } from '../../src/core/bearer-destination.js';
import { requireBearerDestination } from '../../src/shared/bearer-guard.js';
import { isLoopbackHost } from '../../src/core/url-rules.js';
import { ExitCode, XtalkError } from '../../src/errors.js';

const policy: BearerPolicy = {
  apiUrl: 'https://api.iottalk.example/v1',
  issuer: 'https://account.iottalk.example/oidc/',
  namedOrigins: ['https://files.iottalk.example'],
};
const reasonFor = (url: string, p: BearerPolicy = policy) => {
  const v = judgeBearerDestination(url, p);
  return v.ok ? 'ok' : v.reason;
};

describe('where a bearer token may go (src/core/bearer-destination.ts)', () => {
  it('allows the API origin, the issuer origin and named origins, over https, whatever the path', () => {
    for (const url of [
      'https://api.iottalk.example/v1/devices',
      'https://api.iottalk.example:443/other/path?q=1',
      'https://API.iottalk.example/',
      'https://account.iottalk.example/me',
      'https://files.iottalk.example/list',
    ]) {
      expect(reasonFor(url), url).toBe('ok');
    }
  });

  it('refuses every other origin: another host, port or scheme, look-alike hosts', () => {
    for (const url of [
      'https://evil.example/v1',
      'https://api.iottalk.example:8443/v1',
      'https://api.iottalk.example.evil.example/',
      'https://iottalk.example/',
      'http://api.iottalk.example/v1',
    ]) {
      expect(reasonFor(url), url).toBe('origin-not-allowed');
    }
    expect(reasonFor('https://api.iottalk.example/', {})).toBe('origin-not-allowed');
  });

  it('refuses non-http schemes, credentials in the URL and things that are not URLs', () => {
    expect(reasonFor('ftp://api.iottalk.example/')).toBe('not-http');
    expect(reasonFor('file:///etc/passwd')).toBe('not-http');
    expect(reasonFor('https://user:pw@api.iottalk.example/')).toBe('credentials-in-url');
    expect(reasonFor('devices')).toBe('not-a-url');
  });

  it('takes http: to loopback, marked as loopback; plain http elsewhere only for an opted-in origin', () => {
    const local = {
      apiUrl: 'http://127.0.0.1:8080/api',
      namedOrigins: ['http://localhost:9', 'http://[::1]:7', 'http://lab.example:8080', 'https://lab.example'],
    };
    for (const url of ['http://127.0.0.1:8080/api/x', 'http://localhost:9/', 'http://[::1]:7/']) {
      expect(judgeBearerDestination(url, local), url).toMatchObject({ ok: true, loopback: true });
    }
    expect(judgeBearerDestination('https://lab.example/', local)).toMatchObject({ ok: true, loopback: false });
    expect(reasonFor('http://lab.example:8080/x', local)).toBe('not-https');
    expect(reasonFor('http://lab.example:8080/x', { ...local, insecureHttpOrigins: ['http://lab.example'] })).toBe('not-https');
    expect(reasonFor('http://lab.example:8080/x', { ...local, insecureHttpOrigins: ['http://LAB.example:8080'] })).toBe('ok');
    // The opt-in is about the scheme only: it does not make an origin a destination.
    expect(reasonFor('http://other.example/', { ...local, insecureHttpOrigins: ['http://other.example'] })).toBe('origin-not-allowed');
    // Host names that only look local are not loopback.
    expect(reasonFor('http://127.0.0.1.nip.io/', { namedOrigins: ['http://127.0.0.1.nip.io'] })).toBe('not-https');
    expect(isLoopbackHost('localhost.example')).toBe(false);
  });

  it('throws BEARER_DESTINATION_REFUSED (exit 2) with the origin and reason as facts, and a hint per reason', () => {
    const refused = (() => {
      try {
        requireBearerDestination('https://evil.example/steal', policy);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(XtalkError);
    expect(refused).toMatchObject({
      code: 'BEARER_DESTINATION_REFUSED',
      exitCode: ExitCode.Usage,
      facts: { origin: 'https://evil.example', reason: 'origin-not-allowed' },
    });
    expect((refused as XtalkError).message).toMatch(/^Refused to send the access token to https:\/\/evil\.example:/);
    expect((refused as XtalkError).hint).toMatch(/--allow-origin/);
    expect(() => requireBearerDestination('http://lab.example/', { namedOrigins: ['http://lab.example'] })).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/insecure_http_origins/) }),
    );
    expect(requireBearerDestination('https://files.iottalk.example/a', policy).origin).toBe('https://files.iottalk.example');
  });

  it('reads an origin as a user writes one, and nothing more', () => {
    expect(parseOrigin('https://API.example:443')).toBe('https://api.example');
    expect(parseOrigin('http://lab.example:8080/')).toBe('http://lab.example:8080');
    for (const bad of ['https://api.example/v1', 'https://api.example?x', 'https://u@api.example', 'ftp://api.example', 'api.example'])
      expect(parseOrigin(bad), bad).toBeUndefined();
  });
});
