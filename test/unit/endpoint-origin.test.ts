import { describe, expect, it } from 'vitest';
import { checkSameOrigin } from '../../src/config/endpoint-origin.js';
import { ConfigError } from '../../src/errors.js';

const refused = (issuer: string, endpoint: string) => {
  try {
    checkSameOrigin(issuer, endpoint, 'revocation endpoint', 'XTALK_REVOCATION_ENDPOINT');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return undefined;
};

describe('checkSameOrigin', () => {
  it.each([
    ['https://account.example', 'https://account.example/oauth2/revoke'],
    ['https://account.example/o', 'https://ACCOUNT.example:443/revoke'],
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000/token/revocation'],
  ])('accepts %s with %s', (issuer, endpoint) => {
    expect(refused(issuer, endpoint)).toBeUndefined();
  });

  it.each([
    ['https://account.example', 'https://evil.example/revoke'],
    ['https://account.example', 'https://account.example.evil.example/revoke'],
    ['https://account.example', 'http://account.example/revoke'],
    ['https://account.example', 'https://account.example:8443/revoke'],
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8001/revoke'],
    ['http://127.0.0.1:8000', 'http://localhost:8000/revoke'],
    ['https://account.example', 'data:text/plain,x'],
    ['https://account.example', 'not a url'],
  ])('refuses %s with %s, naming both URLs and the source', (issuer, endpoint) => {
    const message = refused(issuer, endpoint);
    expect(message).toContain(endpoint);
    expect(message).toContain(issuer);
    expect(message).toContain('(from XTALK_REVOCATION_ENDPOINT)');
  });
});
