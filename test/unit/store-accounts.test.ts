import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { openStore, type AccountStore } from '../../src/store/index.js';
import type { SessionIdentity } from '../../src/core/session-records.js';
import type { TokenGrant } from '../../src/core/oauth-terms.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { rawDb } from '../helpers/raw-db.js';

const ISSUER = 'https://id.example.test';
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function setup(keychain = new FakeKeychain()) {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-accounts-'));
  const dbPath = join(home, 'xtalk.db');
  const store = openStore({ dbPath, keyFilePath: join(home, 'data.key'), mode: 'file', keychain: keychain.forbidCalls(), warn: () => {} });
  cleanups.push(
    () => rmSync(home, { recursive: true, force: true }),
    () => store.close(),
    () => keychain.verify(),
  );
  return { store, dbPath, home };
}

function who(sub: string, over: Partial<SessionIdentity> = {}): SessionIdentity {
  return { issuer: ISSUER, sub, username: 'alice', email: 'alice@example.test', claims: { sub, group: ['a'] }, clientId: 'cli', ...over };
}

function grant(over: Partial<TokenGrant> = {}): TokenGrant {
  return { accessToken: 'AT-1', tokenType: 'Bearer', scope: 'openid email', expiresAt: T0 + HOUR, refreshToken: 'RT-1', ...over };
}

const count = (store: AccountStore, table: string) => rawDb(store.dbPath).value(`SELECT count(*) FROM ${table}`);

describe('AccountStore', () => {
  it('keeps the latest ID token encrypted and bound to its user; logout forgets it (the profile kept or not)', async () => {
    const { store } = setup();
    const a = await store.saveLogin(who('sub-a'), grant({ idToken: 'ID-1' }), T0);
    const b = await store.saveLogin(who('sub-b'), grant({ accessToken: 'AT-b', refreshToken: 'RT-b', idToken: 'ID-b' }), T0);
    expect(await store.idToken(a.id)).toBe('ID-1');
    const column = () => rawDb(store.dbPath).value('SELECT id_token FROM user WHERE id = ?', a.id) as string | null;
    expect(column()).toMatch(/^v1\./);
    expect(column()).not.toContain('ID-1');
    // A refresh without an ID token keeps the one there is; one with an ID token replaces it.
    await store.saveRefresh(a.id, grant({ accessToken: 'AT-2', refreshToken: null }), undefined, T0 + 1);
    expect(await store.idToken(a.id)).toBe('ID-1');
    await store.saveRefresh(a.id, grant({ accessToken: 'AT-3', refreshToken: null, idToken: 'ID-2' }), undefined, T0 + 2);
    expect(await store.idToken(a.id)).toBe('ID-2');
    // Copied to another user's row, the ciphertext no longer decrypts.
    rawDb(store.dbPath).run('UPDATE user SET id_token = ? WHERE id = ?', column(), b.id);
    await expect(store.idToken(b.id)).rejects.toBeInstanceOf(StoreError);
    store.deleteSession(a.id, null, { keepProfile: true });
    expect(column()).toBeNull();
    expect(await store.idToken(a.id)).toBeUndefined();
    expect(store.listAccounts().map((x) => x.sub)).toEqual(['sub-a', 'sub-b']);
    // Without keepProfile the row goes too, with what meta kept about it.
    store.recordRefreshFailure(b.id, { at: T0, name: 'NetworkError', message: 'm', code: 'NETWORK_ERROR', facts: {}, exitCode: 1 });
    store.deleteSession(b.id, null);
    expect(store.listAccounts().map((x) => x.sub)).toEqual(['sub-a']);
    expect(count(store, 'user')).toBe(1);
    expect(rawDb(store.dbPath).value("SELECT count(*) FROM meta WHERE key LIKE 'refresh_failure:%'")).toBe(0);
    // Profiles without tokens (kept, or left by an older xtalk) go in one call.
    expect(store.deleteProfilesWithoutSession()).toBe(1);
    expect(count(store, 'user')).toBe(0);
    expect(store.deleteProfilesWithoutSession()).toBe(0);
  });

  it('creates a new user for a new sub even when the username is taken', async () => {
    const { store } = setup();
    const a = await store.saveLogin(who('sub-a'), grant(), T0);
    const b = await store.saveLogin(who('sub-b'), grant({ accessToken: 'AT-b', refreshToken: 'RT-b' }), T0);
    expect(a.id).not.toBe(b.id);
    expect(store.listAccounts().map((x) => [x.sub, x.username, x.current])).toEqual([
      ['sub-a', 'alice', false],
      ['sub-b', 'alice', true],
    ]);
    expect(store.findAccounts('alice').map((x) => x.sub)).toEqual(['sub-a', 'sub-b']);
    expect(store.findAccounts('sub-b').map((x) => x.id)).toEqual([b.id]);
    expect(store.findAccounts('nobody')).toEqual([]);
  });

  it('updates the same user when the same sub signs in again', async () => {
    const { store } = setup();
    const first = await store.saveLogin(who('sub-a'), grant(), T0);
    const again = await store.saveLogin(
      who('sub-a', { username: 'alice2', email: 'new@example.test', claims: { sub: 'sub-a', x: 1 }, clientId: 'cli2' }),
      grant(),
      T0 + 1000,
    );
    expect(again).toMatchObject({
      id: first.id,
      username: 'alice2',
      email: 'new@example.test',
      claims: { sub: 'sub-a', x: 1 },
      clientId: 'cli2',
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0 + 1000).toISOString(),
      current: true,
    });
    expect(count(store, 'user')).toBe(1);
    expect(store.findAccounts('new@example.test')).toHaveLength(1);
  });

  it('keeps the same sub at another issuer apart', async () => {
    const { store } = setup();
    await store.saveLogin(who('sub-a'), grant(), T0);
    await store.saveLogin(who('sub-a', { issuer: 'https://other.test' }), grant(), T0);
    expect(store.findAccounts('sub-a')).toHaveLength(2);
  });

  it('replaces the refresh token in place, keeps it when none is issued, and links access tokens to it', async () => {
    const { store } = setup();
    const { id } = await store.saveLogin(who('sub-a'), grant(), T0);
    const rt1 = (await store.refreshToken(id))!;
    expect(rt1.refreshToken).toBe('RT-1');

    await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-2', refreshToken: 'RT-2', expiresAt: T0 + 2 * HOUR }), T0 + 1000);
    const rt2 = (await store.refreshToken(id))!;
    expect(rt2).toMatchObject({ id: rt1.id, refreshToken: 'RT-2', updatedAt: new Date(T0 + 1000).toISOString() });

    await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-3', refreshToken: undefined, expiresAt: T0 + 3 * HOUR }), T0 + 2000);
    expect((await store.refreshToken(id))!.refreshToken).toBe('RT-2');
    expect(count(store, 'refresh_token')).toBe(1);
    const linked = rawDb(store.dbPath).values('SELECT DISTINCT refresh_token_id FROM access_token');
    expect(linked).toEqual([rt1.id]);
  });

  it('stores access tokens without a refresh token when the provider issued none', async () => {
    const { store } = setup();
    const { id } = await store.saveLogin(who('sub-a'), grant({ refreshToken: null }), T0);
    expect(await store.refreshToken(id)).toBeUndefined();
    expect((await store.latestAccessToken(id))!).toMatchObject({ accessToken: 'AT-1', refreshTokenId: null });
  });

  it('accumulates access tokens, returns the newest (not the longest-lived), and prunes expired ones', async () => {
    const { store } = setup();
    const { id } = await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-1', expiresAt: T0 + HOUR }), T0);
    await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-2', expiresAt: T0 + 3 * HOUR }), T0 + 10);
    await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-3', expiresAt: T0 + 2 * HOUR }), T0 + 20);
    expect(count(store, 'access_token')).toBe(3);
    expect(await store.latestAccessToken(id)).toMatchObject({
      userId: id,
      accessToken: 'AT-3',
      tokenType: 'Bearer',
      scope: 'openid email',
      expiresAt: T0 + 2 * HOUR,
      createdAt: T0 + 20,
    });
    expect(store.latestAccessTokenExpiry(id)).toBe(T0 + 2 * HOUR);

    await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-4', expiresAt: T0 + 5 * HOUR }), T0 + 2 * HOUR);
    const left = rawDb(store.dbPath).values('SELECT expires_at FROM access_token ORDER BY expires_at');
    expect(left).toEqual([T0 + 3 * HOUR, T0 + 5 * HOUR]);
  });

  it("only prunes the signing-in user's tokens", async () => {
    const { store } = setup();
    const a = await store.saveLogin(who('sub-a'), grant({ expiresAt: T0 + HOUR }), T0);
    await store.saveLogin(who('sub-b'), grant({ expiresAt: T0 + 5 * HOUR }), T0 + 2 * HOUR);
    expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + HOUR);
  });

  it('tracks the current account', async () => {
    const { store } = setup();
    expect(store.currentAccount()).toBeUndefined();
    const a = await store.saveLogin(who('sub-a'), grant(), T0);
    const b = await store.saveLogin(who('sub-b', { username: 'bob' }), grant(), T0);
    expect(store.currentAccount()?.id).toBe(b.id);
    store.setCurrent(a.id);
    expect(store.currentAccount()).toMatchObject({ id: a.id, current: true });
    expect(store.getAccount(b.id)?.current).toBe(false);
    store.setCurrent(null);
    expect(store.currentAccount()).toBeUndefined();
    expect(() => store.setCurrent(999)).toThrow(StoreError);
    expect(() => store.setCurrent(999)).toThrow(expect.objectContaining({ code: 'ACCOUNT_NOT_FOUND' }));
  });

  it('deletes an account with its tokens and clears current', async () => {
    const { store } = setup();
    const a = await store.saveLogin(who('sub-a'), grant(), T0);
    expect(store.deleteAccount(a.id)).toBe(true);
    expect(store.currentAccount()).toBeUndefined();
    expect([count(store, 'user'), count(store, 'refresh_token'), count(store, 'access_token')]).toEqual([0, 0, 0]);
    // AUTOINCREMENT: a new user never inherits the deleted one's id.
    const b = await store.saveLogin(who('sub-b'), grant(), T0);
    expect(b.id).toBeGreaterThan(a.id);
  });

  it('refuses a ciphertext moved to another user', async () => {
    const { store } = setup();
    const a = await store.saveLogin(who('sub-a'), grant({ accessToken: 'AT-a', refreshToken: 'RT-a' }), T0);
    const b = await store.saveLogin(who('sub-b'), grant({ accessToken: 'AT-b', refreshToken: 'RT-b' }), T0);
    for (const table of ['access_token', 'refresh_token']) {
      rawDb(store.dbPath).run(`UPDATE ${table} SET token = (SELECT token FROM ${table} WHERE user_id = ?) WHERE user_id = ?`, a.id, b.id);
    }
    await expect(store.latestAccessToken(b.id)).rejects.toMatchObject({
      code: 'TOKEN_UNDECRYPTABLE',
      message: 'stored token could not be decrypted',
    });
    await expect(store.refreshToken(b.id)).rejects.toThrow(StoreError);
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
  });

  it('never writes a token in plaintext to the database or its WAL', async () => {
    const { store, dbPath, home } = setup();
    const access = 'access-PLAINTEXT-4f2a9c';
    const refresh = 'refresh-PLAINTEXT-8b1d3e';
    await store.saveLogin(who('sub-a'), grant({ accessToken: access, refreshToken: refresh }), T0);
    await store.saveLogin(who('sub-a'), grant({ accessToken: `${access}-2`, refreshToken: `${refresh}-2` }), T0 + 1);
    const key = readFileSync(join(home, 'data.key'), 'utf8').trim();
    const scan = () => {
      for (const file of [dbPath, `${dbPath}-wal`]) {
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file);
        for (const secret of [access, refresh, key, Buffer.from(key, 'base64').toString('latin1')]) {
          expect(bytes.includes(Buffer.from(secret, 'latin1')), `${secret} in ${file}`).toBe(false);
        }
      }
    };
    // Proves the scan can see row data in the WAL at all.
    expect(readFileSync(`${dbPath}-wal`).includes('sub-a')).toBe(true);
    scan();
    rawDb(dbPath).value('PRAGMA wal_checkpoint(TRUNCATE)');
    scan();
    expect(readFileSync(dbPath).includes('sub-a')).toBe(true);
  });
});
