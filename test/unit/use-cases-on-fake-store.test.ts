import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logoutAccount } from '../../src/auth/logout/logout.js';
import { getFreshToken, type FreshTokenDeps } from '../../src/auth/refresh/fresh-token.js';
import { selectAccount } from '../../src/auth/select-account.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { TokenGrant } from '../../src/core/oauth-terms.js';
import type { OpenIdProvider } from '../../src/core/ports.js';
import type { SessionIdentity } from '../../src/core/session-records.js';
import { NetworkError, NotLoggedInError, RevocationFailedError, UsageError } from '../../src/errors.js';
import { createUi } from '../../src/output/ui.js';
import { FakeStore } from '../fakes/fake-store.js';
import { CaptureStream, createStdin } from '../fakes/streams.js';

/**
 * Use cases driven over the in-memory store (its answers are SQLite's: store-contract.test.ts):
 * what they decide from the stored accounts and tokens, with no database, provider or second process.
 */

const ISSUER = 'https://id.example.test';
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function who(sub: string, over: Partial<SessionIdentity> = {}): SessionIdentity {
  return { issuer: ISSUER, sub, username: `user-${sub}`, email: `${sub}@example.test`, claims: { sub }, clientId: 'cli', ...over };
}

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** The configuration of an empty XTALK_HOME (nothing is written there: the store is the fake). */
function configIn() {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-fake-'));
  homes.push(home);
  return resolveConfig({ flags: {}, env: { XTALK_HOME: home }, cwd: home, platform: 'linux' });
}

function grant(over: Partial<TokenGrant> = {}): TokenGrant {
  return { accessToken: 'AT-1', tokenType: 'Bearer', scope: 'openid', expiresAt: T0 + HOUR, refreshToken: 'RT-1', ...over };
}

describe('selectAccount', () => {
  it('takes the current account, else says whether anyone is signed in', async () => {
    const store = new FakeStore();
    expect(() => selectAccount(store, undefined)).toThrow(expect.objectContaining({ code: 'LOGIN_REQUIRED', facts: {} }));
    const a = await store.saveLogin(who('a'), grant(), T0);
    expect(selectAccount(store, undefined).id).toBe(a.id);
    store.setCurrent(null);
    expect(() => selectAccount(store, undefined)).toThrow(expect.objectContaining({ facts: { reason: 'none_selected' } }));
    // A kept profile is not a session.
    store.deleteSession(a.id, null, { keepProfile: true });
    expect(() => selectAccount(store, undefined)).toThrow(expect.objectContaining({ code: 'LOGIN_REQUIRED', facts: {} }));
  });

  it('finds --account by sub, username, email or escaped name; refuses a logged-out, unknown or ambiguous one', async () => {
    const store = new FakeStore();
    const a = await store.saveLogin(who('a', { username: 'evil\u202egnp' }), grant(), T0);
    const b = await store.saveLogin(who('b', { username: 'sam' }), grant(), T0);
    await store.saveLogin(who('c', { username: 'sam' }), grant(), T0);
    expect(selectAccount(store, 'a@example.test').id).toBe(a.id);
    expect(selectAccount(store, 'evil\\u202egnp').id).toBe(a.id);
    expect(selectAccount(store, 'b').id).toBe(b.id);
    expect(() => selectAccount(store, 'sam')).toThrow(UsageError);
    expect(() => selectAccount(store, 'nobody')).toThrow(expect.objectContaining({ facts: { reason: 'no_match' } }));
    store.deleteSession(b.id, null, { keepProfile: true });
    expect(() => selectAccount(store, 'b')).toThrow(NotLoggedInError);
    expect(() => selectAccount(store, 'b')).toThrow(expect.objectContaining({ facts: { reason: 'logged_out' } }));
  });
});

describe('getFreshToken over the store', () => {
  /** A fake clock that sleeps by moving time; `onSleep` plays the other process. */
  function setup(onSleep: (n: number) => void = () => {}) {
    const store = new FakeStore();
    let now = T0;
    let sleeps = 0;
    const deps: FreshTokenDeps = {
      ctx: {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
          onSleep(++sleeps);
        },
        faultPoint: async () => {},
      },
      ui: { debug: () => {} },
      store: () => store,
      provider: async () => {
        throw new Error('this caller must not contact the provider');
      },
      waitSeconds: 5,
    };
    return { store, deps, advance: (ms: number) => (now += ms), sleeps: () => sleeps };
  }

  it('a fresh stored token is the answer, without the provider', async () => {
    const { store, deps } = setup();
    const a = await store.saveLogin(who('a'), grant(), T0);
    expect((await getFreshToken(deps, { account: a })).accessToken).toBe('AT-1');
    expect((await getFreshToken(deps, { account: a, minTtlSeconds: 60 })).accessToken).toBe('AT-1');
  });

  it('while another process refreshes, takes the token it stores', async () => {
    const { store, deps, sleeps } = setup((n) => {
      if (n === 2) void store.saveRefresh(a.id, grant({ accessToken: 'AT-2', expiresAt: T0 + 2 * HOUR }), undefined, T0 + 1);
    });
    const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 - 1 }), T0 - HOUR);
    store.holdLockElsewhere();
    expect((await getFreshToken(deps, { account: a })).accessToken).toBe('AT-2');
    // At once, not when the wait runs out.
    expect(sleeps()).toBe(2);
    // Once the lock is free, a waiter that finds the new token under it takes it too.
    const release = store.holdLockElsewhere();
    release();
    expect((await getFreshToken(deps, { account: a, rejected: 'AT-1' })).accessToken).toBe('AT-2');
  });

  it('while another process refreshes, reports the failure it records, as the same error', async () => {
    const { store, deps } = setup((n) => {
      if (n === 1)
        store.recordRefreshFailure(a.id, {
          at: T0 + 1,
          name: 'NetworkError',
          message: 'down',
          code: 'NETWORK_ERROR',
          facts: {},
          exitCode: 1,
        });
    });
    const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 - 1 }), T0 - HOUR);
    store.holdLockElsewhere();
    const error = await getFreshToken(deps, { account: a }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR', message: 'down' });
  });

  it('a min-ttl longer than the token another process just refreshed lasts: MIN_TTL_UNSATISFIABLE, not another refresh', async () => {
    const { store, deps } = setup((n) => {
      if (n === 1) void store.saveRefresh(a.id, grant({ accessToken: 'AT-2', expiresAt: T0 + 1 + HOUR }), undefined, T0 + 1);
    });
    const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 - 1 }), T0 - HOUR);
    const release = store.holdLockElsewhere();
    const error = await getFreshToken(deps, { account: a, minTtlSeconds: 7200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'MIN_TTL_UNSATISFIABLE', exitCode: 2, facts: { minTtlSeconds: 7200, lifetimeSeconds: 3600 } });
    release();
    // A margin the tokens can meet takes the stored one.
    expect((await getFreshToken(deps, { account: a, minTtlSeconds: 1800 })).accessToken).toBe('AT-2');
  });

  it('gives up waiting with REFRESH_WAIT_TIMEOUT, or takes a stored token that is still valid', async () => {
    const { store, deps, advance } = setup();
    const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 + 10_000 }), T0 - HOUR);
    store.holdLockElsewhere();
    // Still valid but inside the refresh margin (a minute): after the wait it is used.
    expect((await getFreshToken(deps, { account: a })).accessToken).toBe('AT-1');
    advance(10_000);
    await expect(getFreshToken(deps, { account: a })).rejects.toMatchObject({ code: 'REFRESH_WAIT_TIMEOUT' });
  });
});

describe('logoutAccount over the store', () => {
  /** A provider that can only revoke: `refuse` names the tokens it answers with an error. */
  function revokingProvider(refuse: (token: string) => boolean = () => false) {
    const revoked: string[] = [];
    const unused = () => {
      throw new Error('logout does not call this');
    };
    const provider: OpenIdProvider = {
      issuer: ISSUER,
      discovery: { url: `${ISSUER}/.well-known/openid-configuration`, redirects: [] },
      revocationEndpoint: `${ISSUER}/revoke`,
      hasUserinfo: false,
      deviceAuthorizationEndpoint: undefined,
      publishesScopes: false,
      endSessionEndpoint: undefined,
      buildEndSessionUrl: unused,
      defaultScope: unused,
      createAuthorizationRequest: unused,
      exchangeCode: unused,
      startDeviceAuthorization: unused,
      pollDeviceToken: unused,
      refresh: unused,
      prefetchKeys: unused,
      userinfo: unused,
      revoke: async (token) => {
        if (refuse(token)) throw new Error(`the provider refused ${token}`);
        revoked.push(token);
      },
    };
    return { provider, revoked };
  }

  function deps(store: FakeStore, provider: OpenIdProvider) {
    const io = { stdin: createStdin(), stdout: new CaptureStream(), stderr: new CaptureStream(), stdinIsTTY: false, stderrIsTTY: false };
    const ctx = { now: () => T0, faultPoint: async () => {} };
    return { ctx, ui: createUi(io, {}), store: () => store, config: () => configIn(), provider: async () => provider };
  }

  it('revokes the refresh token first, then the unexpired access tokens; forgets the session; the one other session becomes current', async () => {
    const store = new FakeStore();
    const a = await store.saveLogin(who('a'), grant({ accessToken: 'AT-a', refreshToken: 'RT-a' }), T0);
    const b = await store.saveLogin(who('b'), grant({ accessToken: 'AT-b', refreshToken: 'RT-b' }), T0);
    await store.saveLogin(who('b'), grant({ accessToken: 'AT-b2', refreshToken: null }), T0);
    const { provider, revoked } = revokingProvider();
    const result = await logoutAccount(deps(store, provider), { account: b, force: false });
    expect(result).toMatchObject({ revoked: 3, failures: [] });
    expect(revoked).toEqual(['RT-b', 'AT-b', 'AT-b2']);
    expect(store.listAccounts().map((x) => x.id)).toEqual([a.id]);
    expect(store.currentAccount()?.id).toBe(a.id);
    expect(store.credentialStore()).toBe('file');
  });

  it('keeps everything when a revocation fails; --force deletes anyway; the last logout deletes the data key', async () => {
    const store = new FakeStore();
    const a = await store.saveLogin(who('a'), grant({ accessToken: 'AT-a', refreshToken: 'RT-a' }), T0);
    const { provider } = revokingProvider((token) => token === 'AT-a');
    await expect(logoutAccount(deps(store, provider), { account: a, force: false })).rejects.toBeInstanceOf(RevocationFailedError);
    expect(store.hasSession(a.id)).toBe(true);
    expect(store.currentAccount()?.id).toBe(a.id);
    const result = await logoutAccount(deps(store, provider), { account: a, force: true, keepProfile: true });
    expect(result).toMatchObject({ revoked: 1, failures: [expect.stringContaining('access token 1')] });
    expect(store.listAccounts().map((x) => [x.id, x.current])).toEqual([[a.id, false]]);
    expect(store.hasSession(a.id)).toBe(false);
    expect(store.credentialStore()).toBeNull();
  });
});
