import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { basicAuthorization, explainClientError, verifyHmacIdToken } from '../../src/oidc/client-auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('basicAuthorization', () => {
  it('form-urlencodes id and secret the way URLSearchParams does, leaving *-._ and alphanumerics alone', () => {
    const decoded = (header: string) => Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded(basicAuthorization('xtalk-cli', 's3cr.et_*'))).toBe('xtalk-cli:s3cr.et_*');
    expect(decoded(basicAuthorization('a~b c', 'p+q/r:s%é'))).toBe('a%7Eb+c:p%2Bq%2Fr%3As%25%C3%A9');
    // openid-client's ClientSecretBasic would send `xtalk%2Dcli`.
    expect(basicAuthorization('xtalk-cli', 'x')).toBe(`Basic ${Buffer.from('xtalk-cli:x').toString('base64')}`);
  });
});

describe('verifyHmacIdToken', () => {
  const secret = 'client-secret-ü';
  const sign = (alg: string, hash: string, key = secret) => {
    const input = `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify({ sub: 'a' }))}`;
    return `${input}.${createHmac(hash, Buffer.from(key, 'utf8')).update(input).digest('base64url')}`;
  };

  it('accepts a MAC made with the client secret (UTF-8) for HS256, HS384 and HS512', () => {
    expect(() => verifyHmacIdToken(sign('HS256', 'sha256'), 'HS256', secret)).not.toThrow();
    expect(() => verifyHmacIdToken(sign('HS384', 'sha384'), 'HS384', secret)).not.toThrow();
    expect(() => verifyHmacIdToken(sign('HS512', 'sha512'), 'HS512', secret)).not.toThrow();
  });

  it('refuses another key, a changed payload, a truncated MAC and an unknown alg', () => {
    expect(() => verifyHmacIdToken(sign('HS256', 'sha256', 'other'), 'HS256', secret)).toThrow(
      expect.objectContaining({
        code: 'ID_TOKEN_INVALID',
        facts: { check: 'hmac_signature', alg: 'HS256' },
        message: expect.stringMatching(/does not match the client secret/),
      }),
    );
    const [h, , sig] = sign('HS256', 'sha256').split('.');
    expect(() => verifyHmacIdToken(`${h}.${b64(JSON.stringify({ sub: 'b' }))}.${sig}`, 'HS256', secret)).toThrow(ProviderError);
    expect(() => verifyHmacIdToken(sign('HS256', 'sha256').slice(0, -4), 'HS256', secret)).toThrow(ProviderError);
    expect(() => verifyHmacIdToken(sign('HS256', 'sha256'), 'HS999', secret)).toThrow(
      expect.objectContaining({
        code: 'ID_TOKEN_INVALID',
        facts: { check: 'hmac_alg', alg: 'HS999' },
        message: expect.stringMatching(/cannot check/),
      }),
    );
  });
});

describe('explainClientError', () => {
  const facts = { method: 'client_secret_basic' as const, clientId: 'cli', hmacSecret: undefined, discovery: { url: 'u', redirects: [] } };
  it('adds the client id and method to invalid_client and unauthorized_client only', () => {
    const e = explainClientError(
      new ProviderError('PROVIDER_ERROR', 'The provider refused the token exchange (invalid_client).', {
        facts: { error: 'invalid_client' },
      }),
      facts,
    ) as ProviderError;
    expect(e.message).toBe(
      'The provider refused the token exchange (invalid_client); xtalk sent client id "cli" and the client secret with client_secret_basic.',
    );
    expect(e).toMatchObject({ code: 'INVALID_CLIENT', facts: { method: 'client_secret_basic' } });
    expect(e.hint).toMatch(/XTALK_TOKEN_AUTH_METHOD=client_secret_post/);
    expect(e.error).toBe('invalid_client');
    const other = new ProviderError('PROVIDER_ERROR', 'nope', { facts: { error: 'invalid_grant' } });
    expect(explainClientError(other, facts)).toBe(other);
  });
});
