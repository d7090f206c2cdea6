import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ErrorCodes,
  ProviderError,
  SessionExpiredError,
  setEdgeHint,
  StoreError,
  UsageError,
  XtalkError,
  type KnownErrorCode,
} from '../../src/errors.js';
import { hintFor } from '../../src/hints.js';
import { HINTS } from '../../src/hint-words.js';

describe('hints: one place for the words, chosen by code and facts', () => {
  it('gives every code in ErrorCodes its table hint, and the error the same one', () => {
    for (const code of Object.keys(ErrorCodes) as KnownErrorCode[]) {
      if (!Object.hasOwn(HINTS, code)) continue;
      const entry = { hint: HINTS[code as keyof typeof HINTS] };
      expect(hintFor({ code, facts: {} }), code).toBe(entry.hint);
      expect(new XtalkError(code, 'x').hint, code).toBe(entry.hint);
    }
  });

  it('lets a hint given by the edge win over the table', () => {
    expect(setEdgeHint(new XtalkError('PORT_IN_USE', 'x', { facts: { port: 1 } }), 'mine').hint).toBe('mine');
  });

  it('words hints from facts: client authentication, ID-token checks, discovery, the store', () => {
    expect(new ProviderError('INVALID_CLIENT', 'x', { facts: { method: 'none' } }).hint).toMatch(
      /confidential client needs XTALK_CLIENT_SECRET/,
    );
    expect(new ProviderError('INVALID_CLIENT', 'x', { facts: { method: 'client_secret_post' } }).hint).toMatch(
      /XTALK_TOKEN_AUTH_METHOD=client_secret_basic/,
    );
    expect(new ProviderError('ID_TOKEN_INVALID', 'x', { facts: { check: 'auth_time' } }).hint).toMatch(/xtalk login --fresh/);
    expect(new ProviderError('ID_TOKEN_INVALID', 'x', { facts: { check: 'listed_alg', alg: 'HS256' } }).hint).toMatch(
      /XTALK_ID_TOKEN_SIGNING_ALG=HS256/,
    );
    expect(new ProviderError('ID_TOKEN_INVALID', 'x').hint).toBe(HINTS.ID_TOKEN_INVALID);
    expect(new ProviderError('DISCOVERY_FAILED', 'x', { facts: { reason: 'issuer_spelling', named: '"https://a/"' } }).hint).toMatch(
      /exactly "https:\/\/a\/"/,
    );
    expect(new ProviderError('DISCOVERY_FAILED', 'x', { facts: { reason: 'too_many_redirects', next: 'https://a/b' } }).hint).toMatch(
      /e\.g\. https:\/\/a\/b/,
    );
    expect(new StoreError('STORE_ERROR', 'x', { facts: { reason: 'newer', path: '/d/xtalk.db' } }).hint).toBe(
      'Upgrade xtalk, or move it away (for example `mv /d/xtalk.db /d/xtalk.db.bak`) to start with an empty store.',
    );
    expect(new ConfigError('CONFIG_INVALID', 'x', { facts: { setting: 'timeout' } }).hint).toMatch(/--timeout 120/);
    expect(new ConfigError('CONFIG_INVALID', 'x', { facts: { setting: 'scope', empty: true } }).hint).toBe(
      'Use `xtalk config unset scope` to remove it.',
    );
    expect(new UsageError('USAGE', 'x', { facts: { missing: 'client' } }).hint).toMatch(/pass --issuer\/--client-id/);
    expect(new SessionExpiredError('SESSION_EXPIRED', 'x', { facts: { dataKeyGone: 'file', path: '/k' } }).hint).toMatch(
      /^The key file \/k was removed, so/,
    );
  });

  it('words a provider answer by its OAuth error, a device sign-in by how it ended', () => {
    expect(new ProviderError('PROVIDER_ERROR', 'x', { facts: { error: 'invalid_scope', answer: 'oauth' } }).hint).toMatch(
      /--scope or XTALK_SCOPE/,
    );
    expect(new ProviderError('PROVIDER_ERROR', 'x', { facts: { answer: 'status', status: 503 } }).hint).toBe(HINTS.PROVIDER_PROBLEM);
    expect(new ProviderError('PROVIDER_ERROR', 'x').hint).toBeUndefined();
    expect(new ProviderError('DEVICE_SIGN_IN_ENDED', 'x', { facts: { error: 'expired_token' } }).hint).toMatch(/enter the new code sooner/);
  });
});

describe('adapters name no xtalk command and no flag', () => {
  const root = join(import.meta.dirname, '../../src');
  const words = /`xtalk [a-z]|[ (]--[a-z][a-z-]+/;
  for (const folder of ['oidc', 'store', 'loopback', 'config']) {
    it(`src/${folder}`, () => {
      for (const name of readdirSync(join(root, folder)).filter((n) => n.endsWith('.ts'))) {
        const code = readFileSync(join(root, folder, name), 'utf8')
          .split('\n')
          .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line));
        expect(
          code.filter((line) => words.test(line)),
          `${folder}/${name}`,
        ).toEqual([]);
      }
    });
  }
});
