/**
 * The OpenID relying-party conformance cases against a misbehaving provider: every rejected
 * response fails with the check that caught it, and leaves nothing in the store.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { NetworkError, XtalkError } from '../../src/errors.js';
import { getAccessToken } from '../../src/index.js';
import { ProviderClient } from '../../src/oidc/client.js';
import { openStore } from '../../src/store/index.js';
import { createTestContext } from '../fakes/context.js';
import {
  followAuthorization,
  PATHS,
  ROGUE_SUBJECT,
  startRogueProvider,
  type Claims,
  type RogueProvider,
} from '../provider/rogue-provider.js';
import { rawDb } from '../helpers/raw-db.js';

let rogue: RogueProvider;
beforeAll(async () => {
  rogue = await startRogueProvider();
});
afterAll(async () => {
  await rogue?.stop();
});
beforeEach(() => rogue.reset());

async function login(home?: string) {
  const ctx = createTestContext({ env: rogue.env, home, browser: (url) => followAuthorization(url) });
  const code = await run(['login'], ctx);
  const [browser] = await Promise.allSettled(ctx.browserRuns);
  const page = browser?.status === 'fulfilled' ? (browser.value as { page: string }).page : undefined;
  return { code, stderr: ctx.stderr.text, stdout: ctx.stdout.text, home: ctx.home, opened: ctx.opened, page };
}

async function xtalk(home: string, args: string[]) {
  const ctx = createTestContext({ env: rogue.env, home });
  const code = await run(args, ctx);
  return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text };
}

const openHome = (home: string) =>
  openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });

function userRows(home: string): number {
  if (!existsSync(join(home, 'xtalk.db'))) return 0;
  const s = openHome(home);
  try {
    return rawDb(s.dbPath).value('SELECT count(*) FROM user') as number;
  } finally {
    s.close();
  }
}

/** The stored session of the current account: refresh token, newest access token, row count. */
async function session(home: string) {
  const s = openHome(home);
  try {
    const id = s.currentAccount()!.id;
    return {
      refreshToken: (await s.refreshToken(id))?.refreshToken,
      accessToken: await s.latestAccessToken(id),
      accessTokenRows: rawDb(s.dbPath).value('SELECT count(*) FROM access_token') as number,
    };
  } finally {
    s.close();
  }
}

function expectCleanFailure(res: { code: number; stderr: string; stdout: string }, reason: RegExp): void {
  expect(res.code, res.stderr).toBe(1);
  expect(res.stderr).toMatch(reason);
  expect(res.stderr).not.toMatch(/^\s+at /m);
  expect(res.stderr).not.toMatch(/Unexpected error|please report/);
  expect(res.stdout).toBe('');
  expect(res.stderr).not.toContain(rogue.clientSecret);
}

/** Logs in against the current misbehaviour and expects it rejected for `reason`, with nothing stored. */
async function expectLoginRejected(reason: RegExp) {
  const res = await login();
  expectCleanFailure(res, reason);
  // The browser, when one got that far, is told too.
  if (res.opened.length) expect(res.page).toMatch(/Sign-in failed/);
  expect(userRows(res.home)).toBe(0);
  expect((await xtalk(res.home, ['whoami'])).code).toBe(4);
  return res;
}

const withClaims = (edit: (c: Claims) => void) => (claims: Claims) => {
  edit(claims);
  return claims;
};

describe('a well-behaved rogue provider is accepted (the baseline of every case below)', () => {
  it.each(['RS256', 'ES256'] as const)('signs in with an %s ID token and validates it against the JWKS', async (alg) => {
    rogue.behaviour.signing = alg;
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
    expect(res.page).toMatch(/Signed in/);
    expect(JSON.parse((await xtalk(res.home, ['whoami', '--json'])).stdout)).toMatchObject({
      issuer: rogue.issuer,
      sub: ROGUE_SUBJECT,
      username: 'rosa',
    });
    expect(rogue.count(PATHS.jwks)).toBe(1);
  });
});

describe('ID token signature', () => {
  // openid-client checks these only because xtalk enables its non-repudiation checks.
  it.each(['RS256-wrong-key', 'ES256-wrong-key'] as const)('rejects a bad %s signature (the published kid, another key)', async (mode) => {
    rogue.behaviour.signing = mode;
    await expectLoginRejected(/token exchange failed validation: JWT signature verification failed/);
    expect(rogue.count(PATHS.jwks)).toBe(1);
  });

  it('rejects a signature by a key the JWKS does not publish, naming the kid', async () => {
    rogue.behaviour.signing = 'RS256-unpublished-key';
    await expectLoginRejected(/no applicable keys found \(alg "RS256", kid "unpublished"\)/);
    expect(rogue.count(PATHS.jwks)).toBe(1);
  });

  it('rejects alg "none" when the provider does not advertise it', async () => {
    rogue.behaviour.signing = 'none';
    await expectLoginRejected(/unexpected JWT "alg" header parameter.*"none".*RS256/);
  });

  it('rejects alg "none" even when the provider advertises it', async () => {
    rogue.behaviour.signing = 'none';
    rogue.behaviour.signingAlgs = ['RS256', 'none'];
    await expectLoginRejected(/unsupported JWS "alg".*"none"/);
  });

  it('rejects HS256 keyed with the client secret when RS256 is expected', async () => {
    rogue.behaviour.signing = 'HS256-client-secret';
    await expectLoginRejected(/unexpected JWT "alg" header parameter.*"HS256"/);
  });

  it('rejects HS256 keyed with the client secret even when the provider advertises HS256', async () => {
    rogue.behaviour.signing = 'HS256-client-secret';
    rogue.behaviour.signingAlgs = ['RS256', 'HS256'];
    await expectLoginRejected(/unsupported JWS algorithm.*"HS256"/);
  });
});

describe('ID token claims', () => {
  const cases: Array<[string, (c: Claims) => void, RegExp]> = [
    ['a wrong iss', (c) => (c.iss = 'https://evil.example'), /unexpected JWT "iss" \(issuer\) claim value.*"https:\/\/evil\.example"/],
    ['a missing aud', (c) => delete c.aud, /JWT "aud" \(audience\) claim missing/],
    ['a wrong aud', (c) => (c.aud = 'another-client'), /unexpected JWT "aud" \(audience\) claim value.*"another-client"/],
    [
      'an extra untrusted aud (no azp)',
      (c) => (c.aud = [c.aud, 'another-client']),
      /"aud" \(audience\) claim includes additional untrusted audiences/,
    ],
    [
      'an azp that is not this client (two audiences)',
      (c) => Object.assign(c, { aud: [c.aud, 'another-client'], azp: 'another-client' }),
      /unexpected ID Token "azp" \(authorized party\) claim value.*"another-client"/,
    ],
    [
      'an azp that is not this client (one audience)',
      (c) => (c.azp = 'another-client'),
      /unexpected ID Token "azp" \(authorized party\) claim value \(expected "xtalk-rogue-client", got "another-client"\)/,
    ],
    ['a missing sub', (c) => delete c.sub, /JWT "sub" \(subject\) claim missing/],
    ['a missing iat', (c) => delete c.iat, /JWT "iat" \(issued at\) claim missing/],
    ['an expired exp', (c) => (c.exp = Math.floor(Date.now() / 1000) - 120), /"exp" \(expiration time\) claim value, expiration is past/],
    ['a wrong nonce', (c) => (c.nonce = 'not-the-nonce-xtalk-sent'), /unexpected ID Token "nonce" claim value/],
    ['a missing nonce', (c) => delete c.nonce, /JWT "nonce" \(nonce\) claim missing/],
  ];
  it.each(cases)('rejects %s', async (_name, edit, reason) => {
    rogue.behaviour.idTokenClaims = withClaims(edit);
    const res = await expectLoginRejected(reason);
    expect(res.stderr).toMatch(/(token exchange|ID token) failed validation/);
  });
});

describe('provider-supplied values in messages', () => {
  // ESC, BEL and the C1 CSI would let a hostile provider rewrite the user's terminal.
  const hostile = 'x\u001b]0;pwned\u0007\u009b2J';
  const expectNoControlCharacters = (text: string) => expect(text).not.toMatch(/[\u0007\u001b\u009b]/);

  it('escapes control characters of a rejected aud', async () => {
    rogue.behaviour.idTokenClaims = withClaims((c) => (c.aud = hostile));
    const res = await expectLoginRejected(
      /"aud" \(audience\) claim value \(expected "xtalk-rogue-client", got "x\\u001b\]0;pwned\\u0007\\u009b2J"\)/,
    );
    expectNoControlCharacters(res.stderr);
  });

  it('escapes control characters of a refreshed ID token for another subject', async () => {
    const { home, code } = await login();
    expect(code).toBe(0);
    rogue.behaviour.idTokenClaims = (c, grant) => (grant === 'refresh_token' ? { ...c, sub: hostile } : c);
    const res = await xtalk(home, ['refresh']);
    expectCleanFailure(res, /for subject "x\\u001b\]0;pwned\\u0007\\u009b2J", not "rogue-sub-1"/);
    expectNoControlCharacters(res.stderr);
  });
});

describe('discovery and the authorization response', () => {
  it('rejects a discovery document naming another issuer, before any browser opens', async () => {
    rogue.behaviour.discoveryIssuer = 'https://evil.example';
    const res = await expectLoginRejected(/names the issuer "https:\/\/evil\.example", not "http:\/\/127\.0\.0\.1:\d+"/);
    expect(res.stderr).toContain(rogue.issuer);
    // Another provider's document: the advice is to check the URL, never to trust the other issuer.
    expect(res.stderr).toMatch(/hint: .*another provider/);
    expect(res.stderr).not.toContain('set XTALK_ISSUER to exactly');
    expect(res.opened).toEqual([]);
    expect(rogue.count(PATHS.authorize)).toBe(0);
    expect(rogue.count(PATHS.token)).toBe(0);
  });

  it('rejects a redirect whose iss is wrong, without calling the token endpoint', async () => {
    rogue.behaviour.redirectIss = 'https://evil.example';
    await expectLoginRejected(
      /unexpected "iss" \(issuer\) response parameter value \(in the redirect back from the provider; expected "http:\/\/127\.0\.0\.1:\d+", got "https:\/\/evil\.example"\)/,
    );
    expect(rogue.count(PATHS.authorize)).toBe(1);
    expect(rogue.count(PATHS.token)).toBe(0);
  });

  it('rejects a redirect without iss from a provider advertising RFC 9207, without calling the token endpoint', async () => {
    rogue.behaviour.redirectIss = null;
    await expectLoginRejected(/response parameter "iss" \(issuer\) missing/);
    expect(rogue.count(PATHS.token)).toBe(0);
  });

  it('accepts a redirect without iss from a provider that does not advertise RFC 9207', async () => {
    rogue.behaviour.redirectIss = null;
    rogue.behaviour.issParameterSupported = false;
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
  });
});

describe('userinfo', () => {
  const otherSub = (c: Claims) => ({ ...c, sub: 'someone-else' });

  it('fails the login when userinfo (asked for the missing name and email) is about another subject', async () => {
    rogue.behaviour.profileInIdToken = false;
    rogue.behaviour.userinfo = otherSub;
    await expectLoginRejected(/userinfo request failed validation: .*"sub".*expected "rogue-sub-1", got "someone-else"/);
    expect(rogue.count(PATHS.userinfo)).toBe(1);
  });

  it('completes the name and email from userinfo about the same subject', async () => {
    rogue.behaviour.profileInIdToken = false;
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
    expect(rogue.count(PATHS.userinfo)).toBe(1);
    expect(JSON.parse((await xtalk(res.home, ['whoami', '--json'])).stdout)).toMatchObject({ username: 'rosa', email: 'rosa@rogue.test' });
  });

  it('whoami --verify fails when userinfo is about another subject', async () => {
    const { home, code } = await login();
    expect(code).toBe(0);
    rogue.behaviour.userinfo = otherSub;
    const res = await xtalk(home, ['whoami', '--verify']);
    expectCleanFailure(res, /userinfo request failed validation: .*expected "rogue-sub-1", got "someone-else"/);
    expect(res.stderr).not.toMatch(/accepts the session/);
  });
});

describe('a provider that does not answer', () => {
  it('is a network failure, not a failed security check', async () => {
    rogue.behaviour.stalled = [PATHS.discovery];
    const failure = await ProviderClient.discover({ issuer: rogue.issuer, clientId: rogue.clientId, timeoutSeconds: 1 }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).message).toMatch(/did not answer discovery .* in time/);
    expect((failure as NetworkError).message).not.toMatch(/validation/);
    expect(failure).toMatchObject({ code: 'NETWORK_ERROR', facts: { timedOut: true } });
  });
});

describe('token responses that are accepted', () => {
  it('stores token_type "bearer" as "Bearer"', async () => {
    rogue.behaviour.tokenType = 'bearer';
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse((await xtalk(res.home, ['token', '--json'])).stdout).token_type).toBe('Bearer');
  });

  it('accepts a response without expires_in and assumes a short lifetime', async () => {
    rogue.behaviour.expiresIn = undefined;
    const before = Date.now();
    const res = await login();
    expect(res.code, res.stderr).toBe(0);
    const { accessToken } = await session(res.home);
    // UNKNOWN_LIFETIME_SECONDS: 300 s
    expect(accessToken!.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(accessToken!.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
  });

  it('accepts a rotated signing key: fetches the JWKS once more and validates the new kid', async () => {
    const { home, code } = await login();
    expect(code).toBe(0);
    expect(rogue.count(PATHS.jwks)).toBe(1);
    const key = rogue.rotateKey('RS256');
    const res = await xtalk(home, ['refresh']);
    expect(res.code, res.stderr).toBe(0);
    expect(rogue.count(PATHS.jwks)).toBe(2);
    expect(rogue.count(PATHS.token, 'refresh_token')).toBe(1);
    expect(key.kid).toMatch(/rotated/);
  });
});

describe('refresh responses for another session', () => {
  const cases: Array<[string, () => void, RegExp]> = [
    [
      'changes sub',
      () => (rogue.behaviour.idTokenClaims = (c, grant) => (grant === 'refresh_token' ? { ...c, sub: 'someone-else' } : c)),
      /subject "someone-else", not "rogue-sub-1"/,
    ],
    [
      'changes iss',
      () => (rogue.behaviour.idTokenClaims = (c, grant) => (grant === 'refresh_token' ? { ...c, iss: 'https://evil.example' } : c)),
      /token refresh failed validation: unexpected JWT "iss".*"https:\/\/evil\.example"/,
    ],
    [
      'has a bad signature',
      () => (rogue.behaviour.signing = 'RS256-wrong-key'),
      /token refresh failed validation: JWT signature verification failed/,
    ],
  ];
  it.each(cases)(
    'rejects a refresh whose ID token %s: its access token and identity are not used, its rotated refresh token is kept',
    async (_name, misbehave, reason) => {
      const { home, code } = await login();
      expect(code).toBe(0);
      const before = await session(home);
      misbehave();
      const res = await xtalk(home, ['refresh']);
      expectCleanFailure(res, reason);
      expect(rogue.count(PATHS.token, 'refresh_token')).toBe(1);
      const after = await session(home);
      // Never lose a session: the provider rotated, so the old refresh token is spent.
      expect(after.refreshToken).not.toBe(before.refreshToken);
      expect(after.refreshToken).toBeTruthy();
      expect(after.accessToken!.accessToken).toBe(before.accessToken!.accessToken);
      expect(after.accessTokenRows).toBe(before.accessTokenRows);
      expect(JSON.parse((await xtalk(home, ['whoami', '--json'])).stdout)).toMatchObject({ issuer: rogue.issuer, sub: ROGUE_SUBJECT });
    },
  );
});

describe('never lose a rotated session to a check that runs after the provider answered', () => {
  // The provider spends the old refresh token on every grant, so a refresh whose answer is dropped
  // because a later check failed would end the session: the next refresh gets invalid_grant.
  const failures: Array<[string, () => void]> = [
    ['is not a JWT at all', () => (rogue.behaviour.rawIdToken = (grant) => (grant === 'refresh_token' ? 'not-a-jwt' : undefined))],
    [
      'has expired',
      () =>
        (rogue.behaviour.idTokenClaims = (c, grant) =>
          grant === 'refresh_token' ? { ...c, exp: Number(c.exp) - 7200, iat: Number(c.iat) - 7800 } : c),
    ],
    [
      'names another audience',
      () => (rogue.behaviour.idTokenClaims = (c, grant) => (grant === 'refresh_token' ? { ...c, aud: 'another-client' } : c)),
    ],
  ];
  type Outcome = { ok: boolean; text: string };
  const doors: Array<[string, (home: string) => Promise<Outcome>]> = [
    ['xtalk refresh', async (home) => outcome(await xtalk(home, ['refresh']))],
    ['xtalk token', async (home) => outcome(await xtalk(home, ['token']))],
    [
      'getAccessToken()',
      (home) =>
        getAccessToken({ env: { ...rogue.env, XTALK_HOME: home, XTALK_CREDENTIAL_STORE: 'file' } }).then(
          () => ({ ok: true, text: '' }),
          (e: unknown) => ({ ok: false, text: e instanceof XtalkError ? `${e.code}: ${e.message}\n  hint: ${e.hint}` : String(e) }),
        ),
    ],
  ];
  const outcome = (res: { code: number; stderr: string }): Outcome => ({ ok: res.code === 0, text: res.stderr });
  const cases = doors.flatMap(([door, call]) => failures.map(([name, misbehave]) => [door, name, call, misbehave] as const));

  it.each(cases)(
    '%s, the refreshed ID token %s: fails, keeps the rotated refresh token, and the next refresh goes through',
    async (_door, _name, call, misbehave) => {
      const { home, code } = await login();
      expect(code).toBe(0);
      const before = await session(home);
      // The stored access token has expired, so every door must refresh.
      rawDb(join(home, 'xtalk.db')).run('UPDATE access_token SET expires_at = 1');
      misbehave();
      const failed = await call(home);
      expect(failed.ok, failed.text).toBe(false);
      expect(failed.text).not.toContain(rogue.clientSecret);
      // Said as it is: the answer's refresh token was stored, so "nothing was stored" would be untrue.
      expect(failed.text).toMatch(/failed validation[\s\S]*hint: The refreshed tokens were not used, but the new refresh token was kept/);
      expect(failed.text).not.toMatch(/Nothing was stored/);
      expect(rogue.count(PATHS.token, 'refresh_token')).toBe(1);
      const after = await session(home);
      expect(after.refreshToken).toBeTruthy();
      expect(after.refreshToken).not.toBe(before.refreshToken);
      // The provider behaves again: the kept refresh token is the one it accepts.
      rogue.reset();
      const again = await call(home);
      expect(again.ok, again.text).toBe(true);
      expect(rogue.count(PATHS.token, 'refresh_token')).toBe(1);
      expect((await session(home)).refreshToken).not.toBe(after.refreshToken);
    },
  );
});
