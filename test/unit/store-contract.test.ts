import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenStore } from '../../src/core/ports.js';
import type { TokenGrant } from '../../src/core/oauth-terms.js';
import type { RefreshFailure, SessionIdentity } from '../../src/core/session-records.js';
import { StoreError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { FakeStore } from '../fakes/fake-store.js';

/**
 * The store's ports, the same cases on SQLite (file key store, as `XTALK_CREDENTIAL_STORE=file`)
 * and on test/fakes/fake-store.ts: a use-case test that passes on the fake would pass on the real
 * store, and the fake cannot drift from it unnoticed.
 */

const ISSUER = 'https://id.example.test';
const OTHER_ISSUER = 'https://other.example.test';
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

interface Subject {
  store: TokenStore;
  /** As if another process held the database write lock, until the returned function is called. */
  holdLockElsewhere(): () => void;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

const subjects: Record<'sqlite' | 'fake', () => Subject> = {
  sqlite: () => {
    const home = mkdtempSync(join(tmpdir(), 'xtalk-contract-'));
    const dbPath = join(home, 'xtalk.db');
    const keychain = new FakeKeychain();
    const store = openStore({
      dbPath,
      keyFilePath: join(home, 'xtalk.key'),
      mode: 'file',
      keychain: keychain.forbidCalls(),
      warn: () => {},
    });
    cleanups.push(
      () => rmSync(home, { recursive: true, force: true }),
      () => store.close(),
      () => keychain.verify(),
    );
    const holdLockElsewhere = () => {
      const other = new Database(dbPath);
      other.exec('BEGIN IMMEDIATE');
      return () => {
        other.exec('ROLLBACK');
        other.close();
      };
    };
    return { store, holdLockElsewhere };
  },
  fake: () => {
    const store = new FakeStore();
    return { store, holdLockElsewhere: () => store.holdLockElsewhere() };
  },
};

function who(sub: string, over: Partial<SessionIdentity> = {}): SessionIdentity {
  return {
    issuer: ISSUER,
    sub,
    username: `user-${sub}`,
    email: `${sub}@example.test`,
    claims: { sub, group: ['a'] },
    clientId: 'cli',
    ...over,
  };
}

function grant(over: Partial<TokenGrant> = {}): TokenGrant {
  return { accessToken: 'AT-1', tokenType: 'Bearer', scope: 'openid email', expiresAt: T0 + HOUR, refreshToken: 'RT-1', ...over };
}

function failure(at: number, message = 'the provider is down'): RefreshFailure {
  return { at, name: 'NetworkError', message, code: 'NETWORK_ERROR', facts: { status: 503 }, exitCode: 1 };
}

describe.each(Object.keys(subjects) as (keyof typeof subjects)[])('the store ports on %s', (kind) => {
  const setup = () => subjects[kind]();

  describe('Accounts', () => {
    it('is empty before the first login', () => {
      const { store } = setup();
      expect(store.listAccounts()).toEqual([]);
      expect(store.currentAccount()).toBeUndefined();
      expect(store.findAccounts('a')).toEqual([]);
      expect(store.hasSession(1)).toBe(false);
      expect(store.hasRefreshToken(1)).toBe(false);
      expect(store.latestAccessTokenExpiry(1)).toBeUndefined();
      expect(store.deleteProfilesWithoutSession()).toBe(0);
    });

    it('lists accounts oldest first; the last login is current; the same (issuer, sub) is updated in place', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a', { revocationEndpoint: `${ISSUER}/revoke` }), grant(), T0);
      expect(a).toMatchObject({ issuer: ISSUER, sub: 'a', username: 'user-a', email: 'a@example.test', clientId: 'cli', current: true });
      expect(a).toMatchObject({ claims: { sub: 'a', group: ['a'] }, revocationEndpoint: `${ISSUER}/revoke` });
      expect(a.createdAt).toBe(new Date(T0).toISOString());
      const b = await store.saveLogin(who('b'), grant({ accessToken: 'AT-b' }), T0 + 1);
      expect(b.id).toBeGreaterThan(a.id);
      expect(b.revocationEndpoint).toBeNull();
      expect(store.listAccounts().map((x) => [x.sub, x.current])).toEqual([
        ['a', false],
        ['b', true],
      ]);
      expect(store.currentAccount()).toEqual(b);
      // Signing in again as `a` keeps its row (id, createdAt), takes the new profile, makes it current.
      const again = await store.saveLogin(who('a', { username: 'alice', claims: { sub: 'a' } }), grant({ accessToken: 'AT-a2' }), T0 + 2);
      expect(again).toMatchObject({
        id: a.id,
        username: 'alice',
        claims: { sub: 'a' },
        revocationEndpoint: null,
        createdAt: a.createdAt,
        current: true,
      });
      expect(again.updatedAt).toBe(new Date(T0 + 2).toISOString());
      expect(store.listAccounts().map((x) => [x.id, x.current])).toEqual([
        [a.id, true],
        [b.id, false],
      ]);
      // The same sub at another issuer is another account.
      const c = await store.saveLogin(who('a', { issuer: OTHER_ISSUER }), grant(), T0 + 3);
      expect(store.listAccounts().map((x) => x.id)).toEqual([a.id, b.id, c.id]);
    });

    it('finds accounts by sub, username or email, across issuers, oldest first', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a', { username: 'sam' }), grant(), T0);
      const b = await store.saveLogin(who('b', { issuer: OTHER_ISSUER, username: 'sam' }), grant(), T0);
      expect(store.findAccounts('sam').map((x) => x.id)).toEqual([a.id, b.id]);
      expect(store.findAccounts('b').map((x) => [x.id, x.current])).toEqual([[b.id, true]]);
      expect(store.findAccounts('a@example.test').map((x) => x.id)).toEqual([a.id]);
      expect(store.findAccounts('Sam')).toEqual([]);
    });

    it('setCurrent switches the current account, null leaves nobody current, an unknown id is refused', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      await store.saveLogin(who('b'), grant(), T0);
      store.setCurrent(a.id);
      expect(store.currentAccount()?.id).toBe(a.id);
      store.setCurrent(null);
      expect(store.currentAccount()).toBeUndefined();
      expect(store.listAccounts().some((x) => x.current)).toBe(false);
      expect(() => store.setCurrent(999)).toThrow(expect.objectContaining({ code: 'ACCOUNT_NOT_FOUND' }));
      expect(store.currentAccount()).toBeUndefined();
    });

    it('hasSession, hasRefreshToken and latestAccessTokenExpiry read the tokens without their secrets', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ refreshToken: null }), T0);
      expect(store.hasSession(a.id)).toBe(true);
      expect(store.hasRefreshToken(a.id)).toBe(false);
      expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + HOUR);
      // Newest by insertion, not by expiry.
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-2', expiresAt: T0 + HOUR / 2 }), T0 + 1);
      expect(store.hasRefreshToken(a.id)).toBe(true);
      expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + HOUR / 2);
    });

    it('deleteProfilesWithoutSession deletes only the profiles that hold no token, current or not', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      const b = await store.saveLogin(who('b'), grant(), T0);
      const c = await store.saveLogin(who('c'), grant(), T0);
      store.deleteSession(a.id, null, { keepProfile: true });
      store.deleteSession(c.id, c.id, { keepProfile: true });
      expect(store.currentAccount()?.id).toBe(c.id);
      expect(store.deleteProfilesWithoutSession()).toBe(2);
      expect(store.listAccounts().map((x) => x.id)).toEqual([b.id]);
      expect(store.currentAccount()).toBeUndefined();
      expect(store.deleteProfilesWithoutSession()).toBe(0);
    });
  });

  describe('SessionTokens', () => {
    it('keeps one refresh token per user, replaced in place only when a grant carries one, and every unexpired access token', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      const first = await store.refreshToken(a.id);
      expect(first).toEqual({ id: expect.any(Number), userId: a.id, refreshToken: 'RT-1', updatedAt: new Date(T0).toISOString() });
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-2', refreshToken: null }), T0 + 1);
      expect(await store.refreshToken(a.id)).toEqual(first);
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-3', refreshToken: 'RT-2' }), T0 + 2);
      expect(await store.refreshToken(a.id)).toEqual({ ...first, refreshToken: 'RT-2', updatedAt: new Date(T0 + 2).toISOString() });
      const { access, refresh, unreadable } = await store.sessionTokens(a.id, T0 + 2);
      expect(refresh?.refreshToken).toBe('RT-2');
      expect(unreadable).toBe(0);
      expect(access.map((t) => [t.accessToken, t.refreshTokenId, t.createdAt])).toEqual([
        ['AT-1', first!.id, T0],
        ['AT-2', first!.id, T0 + 1],
        ['AT-3', first!.id, T0 + 2],
      ]);
      // Tokens are per user.
      const b = await store.saveLogin(who('b'), grant({ accessToken: 'AT-b', refreshToken: 'RT-b' }), T0 + 3);
      expect((await store.refreshToken(b.id))?.refreshToken).toBe('RT-b');
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-2');
    });

    it('a session without a refresh token has none; its access tokens link to none', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ refreshToken: undefined }), T0);
      expect(await store.refreshToken(a.id)).toBeUndefined();
      expect((await store.latestAccessToken(a.id))?.refreshTokenId).toBeNull();
    });

    it('latestAccessToken is the newest by insertion, possibly expired; a write prunes the expired ones but stores its own', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 + 10 }), T0);
      expect(await store.latestAccessToken(999)).toBeUndefined();
      expect(await store.latestAccessToken(a.id)).toEqual({
        id: expect.any(Number),
        userId: a.id,
        refreshTokenId: expect.any(Number),
        accessToken: 'AT-1',
        tokenType: 'Bearer',
        scope: 'openid email',
        expiresAt: T0 + 10,
        createdAt: T0,
      });
      // Written at T0 + 20: AT-1 is pruned; AT-2, already expired, is still stored once.
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-2', expiresAt: T0 + 15, scope: null, tokenType: 'DPoP' }), T0 + 20);
      expect(await store.latestAccessToken(a.id)).toMatchObject({
        accessToken: 'AT-2',
        expiresAt: T0 + 15,
        scope: null,
        tokenType: 'DPoP',
      });
      expect((await store.sessionTokens(a.id, T0)).access.map((t) => t.accessToken)).toEqual(['AT-2']);
      expect((await store.sessionTokens(a.id, T0 + 15)).access).toEqual([]);
      // A token expiring at the moment of a write is expired.
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-3', expiresAt: T0 + 40 }), T0 + 15);
      expect((await store.sessionTokens(a.id, T0)).access.map((t) => t.accessToken)).toEqual(['AT-3']);
    });

    it('sessionTokens gives the refresh token and the access tokens unexpired at `now`, oldest first', async () => {
      const { store } = setup();
      expect(await store.sessionTokens(1, T0)).toEqual({ refresh: undefined, access: [], unreadable: 0 });
      const a = await store.saveLogin(who('a'), grant({ expiresAt: T0 + 100 }), T0);
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-2', expiresAt: T0 + 50, refreshToken: null }), T0 + 1);
      const at = async (now: number) => (await store.sessionTokens(a.id, now)).access.map((t) => t.accessToken);
      expect(await at(T0 + 2)).toEqual(['AT-1', 'AT-2']);
      expect(await at(T0 + 50)).toEqual(['AT-1']);
      expect(await at(T0 + 100)).toEqual([]);
      expect((await store.sessionTokens(a.id, T0 + 100)).refresh?.refreshToken).toBe('RT-1');
    });

    it('keeps the latest ID token: a grant without one leaves it, one with one replaces it', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      expect(await store.idToken(a.id)).toBeUndefined();
      await store.saveLogin(who('a'), grant({ idToken: 'ID-1' }), T0);
      await store.saveLogin(who('a'), grant({ idToken: null }), T0);
      expect(await store.idToken(a.id)).toBe('ID-1');
      await store.saveLogin(who('a'), grant({ idToken: 'ID-2' }), T0);
      expect(await store.idToken(a.id)).toBe('ID-2');
      expect(await store.idToken(999)).toBeUndefined();
    });

    it('deleteSession forgets the tokens and, unless keepProfile, the profile and its refresh failure; the current account moves to nextCurrent', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ idToken: 'ID-a' }), T0);
      const b = await store.saveLogin(who('b'), grant({ idToken: 'ID-b' }), T0);
      const c = await store.saveLogin(who('c'), grant(), T0);
      // Not current: the current account stays.
      store.deleteSession(a.id, b.id, { keepProfile: true });
      expect(store.currentAccount()?.id).toBe(c.id);
      expect(store.hasSession(a.id)).toBe(false);
      expect(await store.idToken(a.id)).toBeUndefined();
      expect(await store.sessionTokens(a.id, T0)).toEqual({ refresh: undefined, access: [], unreadable: 0 });
      expect(store.listAccounts().map((x) => x.id)).toEqual([a.id, b.id, c.id]);
      // Current: nextCurrent becomes current, the profile and what was kept about it go.
      store.recordRefreshFailure(c.id, failure(T0));
      store.deleteSession(c.id, b.id);
      expect(store.currentAccount()?.id).toBe(b.id);
      expect(store.listAccounts().map((x) => x.id)).toEqual([a.id, b.id]);
      expect(store.refreshFailureSince(c.id, 0)).toBeUndefined();
      expect(await store.idToken(b.id)).toBe('ID-b');
      store.deleteSession(b.id, null);
      expect(store.currentAccount()).toBeUndefined();
      expect(store.listAccounts().map((x) => x.id)).toEqual([a.id]);
      // A later login of a deleted account is a new account.
      const again = await store.saveLogin(who('c'), grant(), T0 + 1);
      expect(again.id).toBeGreaterThan(c.id);
    });
  });

  describe('SessionRefresh', () => {
    it('tryWriteLock runs the work and gives its value; when the work throws, its writes are undone', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      expect(await store.tryWriteLock(async () => 42)).toEqual({ locked: true, value: 42 });
      await store.tryWriteLock(async () => store.recordRefreshFailure(a.id, failure(T0)));
      expect(store.refreshFailureSince(a.id, T0)).toEqual(failure(T0));
      const boom = new Error('boom');
      const work = async () => {
        store.recordRefreshFailure(a.id, failure(T0 + 1, 'later'));
        await store.saveRotatedRefreshToken(a.id, 'RT-lost', T0 + 1);
        store.rememberScope(ISSUER, 'openid');
        throw boom;
      };
      await expect(store.tryWriteLock(work)).rejects.toBe(boom);
      expect(store.refreshFailureSince(a.id, T0)?.message).toBe('the provider is down');
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-1');
      expect(store.learnedScope(ISSUER)).toBeUndefined();
    });

    it('tryWriteLock answers { locked: false } at once while another process holds the lock, without running the work', async () => {
      const { store, holdLockElsewhere } = setup();
      await store.saveLogin(who('a'), grant(), T0);
      const release = holdLockElsewhere();
      let ran = false;
      try {
        expect(await store.tryWriteLock(async () => (ran = true))).toEqual({ locked: false });
      } finally {
        release();
      }
      expect(ran).toBe(false);
      expect(await store.tryWriteLock(async () => (ran = true))).toEqual({ locked: true, value: true });
    });

    it('tryWriteLock callers in one process take turns', async () => {
      const { store } = setup();
      await store.saveLogin(who('a'), grant(), T0);
      const order: string[] = [];
      let started!: () => void;
      const firstStarted = new Promise<void>((resolve) => (started = resolve));
      let finish!: () => void;
      const first = store.tryWriteLock(async () => {
        order.push('first in');
        started();
        await new Promise<void>((resolve) => (finish = resolve));
        order.push('first out');
        return 1;
      });
      const second = store.tryWriteLock(async () => {
        order.push('second');
        return 2;
      });
      await firstStarted;
      finish();
      expect([await first, await second]).toEqual([
        { locked: true, value: 1 },
        { locked: true, value: 2 },
      ]);
      expect(order).toEqual(['first in', 'first out', 'second']);
    });

    it('prepareRefreshWrite secures the key for writing and writes nothing; a gone account is a StoreError', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      const before = await store.sessionTokens(a.id, T0);
      await store.prepareRefreshWrite(a.id);
      expect(await store.sessionTokens(a.id, T0)).toEqual(before);
      expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + HOUR);
      await expect(store.prepareRefreshWrite(999)).rejects.toBeInstanceOf(StoreError);
    });

    it('commitRefreshAnswer needs the key for writing in hand; under the lock it commits at once, without the ID token', async () => {
      const { store } = setup();
      expect(() => store.commitRefreshAnswer(1, grant(), T0)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
      const a = await store.saveLogin(who('a'), grant({ idToken: 'ID-1' }), T0);
      store.recordRefreshFailure(a.id, failure(T0));
      await store.prepareRefreshWrite(a.id);
      let rowId = 0;
      const boom = new Error('the check after the answer failed');
      await expect(
        store.tryWriteLock(async () => {
          rowId = store.commitRefreshAnswer(a.id, grant({ accessToken: 'AT-2', refreshToken: 'RT-2', idToken: 'ID-2' }), T0 + 1);
          throw boom;
        }),
      ).rejects.toBe(boom);
      const latest = await store.latestAccessToken(a.id);
      expect(latest).toMatchObject({ id: rowId, accessToken: 'AT-2', createdAt: T0 + 1 });
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-2');
      expect(await store.idToken(a.id)).toBe('ID-1');
      expect(store.refreshFailureSince(a.id, 0)).toBeUndefined();
      // An answer without an access token: row id 0, the rotated refresh token kept.
      expect(store.commitRefreshAnswer(a.id, grant({ accessToken: '', refreshToken: 'RT-3' }), T0 + 2)).toBe(0);
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-3');
      expect((await store.latestAccessToken(a.id))?.id).toBe(rowId);
    });

    it('confirmRefresh stores the ID token and merges its claims into the account; a gone account is ACCOUNT_GONE', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ idToken: 'ID-1' }), T0);
      await store.prepareRefreshWrite(a.id);
      const rowId = store.commitRefreshAnswer(a.id, grant({ accessToken: 'AT-2', refreshToken: null }), T0 + 1);
      const token = await store.confirmRefresh(a.id, 'ID-2', { preferred_username: 'alice', email: 42, extra: true }, T0 + 2);
      expect(token).toMatchObject({ id: rowId, accessToken: 'AT-2' });
      expect(await store.idToken(a.id)).toBe('ID-2');
      const account = store.listAccounts()[0]!;
      expect(account).toMatchObject({
        username: 'alice',
        email: 'a@example.test',
        claims: { sub: 'a', group: ['a'], preferred_username: 'alice', email: 42, extra: true },
      });
      expect(account.updatedAt).toBe(new Date(T0 + 2).toISOString());
      // Neither: nothing changes but the answer is the newest token.
      expect(await store.confirmRefresh(a.id, null, undefined, T0 + 3)).toEqual(token);
      expect(await store.idToken(a.id)).toBe('ID-2');
      expect(store.listAccounts()[0]!.updatedAt).toBe(new Date(T0 + 2).toISOString());
      await expect(store.confirmRefresh(999, 'ID', undefined, T0)).rejects.toMatchObject({ code: 'ACCOUNT_GONE' });
    });

    it('withdrawAccessToken removes that access token of that user only', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      const b = await store.saveLogin(who('b'), grant({ accessToken: 'AT-b' }), T0);
      await store.prepareRefreshWrite(a.id);
      const rowId = store.commitRefreshAnswer(a.id, grant({ accessToken: 'AT-2', refreshToken: 'RT-2' }), T0 + 1);
      const bRow = (await store.latestAccessToken(b.id))!.id;
      store.withdrawAccessToken(a.id, bRow);
      expect((await store.latestAccessToken(b.id))?.accessToken).toBe('AT-b');
      store.withdrawAccessToken(a.id, rowId);
      expect((await store.latestAccessToken(a.id))?.accessToken).toBe('AT-1');
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-2');
    });

    it('saveRotatedRefreshToken replaces the refresh token in place and leaves the access tokens', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      const before = (await store.refreshToken(a.id))!;
      await store.saveRotatedRefreshToken(a.id, 'RT-2', T0 + 5);
      expect(await store.refreshToken(a.id)).toEqual({ ...before, refreshToken: 'RT-2', updatedAt: new Date(T0 + 5).toISOString() });
      expect((await store.sessionTokens(a.id, T0)).access.map((t) => t.accessToken)).toEqual(['AT-1']);
      // A session that had none gets one.
      const b = await store.saveLogin(who('b'), grant({ refreshToken: null }), T0);
      await store.saveRotatedRefreshToken(b.id, 'RT-b', T0);
      expect(store.hasRefreshToken(b.id)).toBe(true);
    });

    it('saveRefresh stores a whole answer: the access token linked to the refresh token, claims merged, the failure cleared', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant({ idToken: 'ID-1' }), T0);
      store.recordRefreshFailure(a.id, failure(T0));
      const token = await store.saveRefresh(
        a.id,
        grant({ accessToken: 'AT-2', refreshToken: null }),
        { email: 'new@example.test' },
        T0 + 1,
      );
      const refresh = (await store.refreshToken(a.id))!;
      expect(token).toMatchObject({ accessToken: 'AT-2', refreshTokenId: refresh.id, createdAt: T0 + 1 });
      expect(refresh.refreshToken).toBe('RT-1');
      expect(await store.idToken(a.id)).toBe('ID-1');
      expect(store.currentAccount()).toMatchObject({ email: 'new@example.test', username: 'user-a' });
      expect(store.refreshFailureSince(a.id, 0)).toBeUndefined();
      await store.saveRefresh(a.id, grant({ accessToken: 'AT-3', refreshToken: 'RT-2', idToken: 'ID-2' }), undefined, T0 + 2);
      expect(await store.idToken(a.id)).toBe('ID-2');
      expect((await store.refreshToken(a.id))?.refreshToken).toBe('RT-2');
      await expect(store.saveRefresh(999, grant(), undefined, T0)).rejects.toMatchObject({ code: 'ACCOUNT_GONE' });
    });

    it('refreshFailureSince gives the recorded failure only when it is at or after `since`; a newer one replaces it', async () => {
      const { store } = setup();
      const a = await store.saveLogin(who('a'), grant(), T0);
      store.recordRefreshFailure(a.id, failure(T0 + 10));
      expect(store.refreshFailureSince(a.id, T0 + 10)).toEqual(failure(T0 + 10));
      expect(store.refreshFailureSince(a.id, T0 + 11)).toBeUndefined();
      expect(store.refreshFailureSince(999, 0)).toBeUndefined();
      store.recordRefreshFailure(a.id, failure(T0 + 20, 'again'));
      expect(store.refreshFailureSince(a.id, T0)?.message).toBe('again');
      // One without the code and facts of a newer xtalk still reads back.
      const old = { at: T0 + 30, name: 'SessionExpiredError', message: 'expired', exitCode: 4 };
      store.recordRefreshFailure(a.id, old);
      expect(store.refreshFailureSince(a.id, T0)).toEqual(old);
    });
  });

  describe('LearnedScopes', () => {
    it('remembers one scope per issuer, the last one given', () => {
      const { store } = setup();
      expect(store.learnedScope(ISSUER)).toBeUndefined();
      store.rememberScope(ISSUER, 'openid profile');
      store.rememberScope(OTHER_ISSUER, 'openid');
      store.rememberScope(ISSUER, 'openid email');
      expect(store.learnedScope(ISSUER)).toBe('openid email');
      expect(store.learnedScope(OTHER_ISSUER)).toBe('openid');
    });
  });

  describe('LearnedAuthMethods', () => {
    it('remembers one method per issuer and client id', () => {
      const { store } = setup();
      expect(store.learnedAuthMethod(ISSUER, 'cli')).toBeUndefined();
      store.rememberAuthMethod(ISSUER, 'cli', 'client_secret_post');
      store.rememberAuthMethod(OTHER_ISSUER, 'cli', 'client_secret_basic');
      expect(store.learnedAuthMethod(ISSUER, 'cli')).toBe('client_secret_post');
      expect(store.learnedAuthMethod(ISSUER, 'other')).toBeUndefined();
      expect(store.learnedAuthMethod(OTHER_ISSUER, 'cli')).toBe('client_secret_basic');
      // Neither part can run into the other.
      expect(store.learnedAuthMethod(`${ISSUER}:cli`, '')).toBeUndefined();
    });
  });

  describe('DataKeyStorage', () => {
    it('records where the key lives with the first write; deleting it is refused while tokens remain', async () => {
      const { store } = setup();
      expect(store.credentialStore()).toBeNull();
      const a = await store.saveLogin(who('a'), grant(), T0);
      expect(store.credentialStore()).toBe('file');
      await expect(store.deleteDataKey()).rejects.toBeInstanceOf(StoreError);
      expect(store.credentialStore()).toBe('file');
      // A kept profile holds no token: the key may go.
      store.deleteSession(a.id, null, { keepProfile: true });
      await store.deleteDataKey();
      expect(store.credentialStore()).toBeNull();
      expect(store.listAccounts().map((x) => x.id)).toEqual([a.id]);
      // The next login creates one again, and its tokens read back.
      await store.saveLogin(who('a'), grant({ accessToken: 'AT-2' }), T0 + 1);
      expect(store.credentialStore()).toBe('file');
      expect((await store.latestAccessToken(a.id))?.accessToken).toBe('AT-2');
    });
  });

  it('refuses to be used once closed', async () => {
    const { store } = setup();
    await store.saveLogin(who('a'), grant(), T0);
    store.close();
    expect(() => store.listAccounts()).toThrow();
  });
});
