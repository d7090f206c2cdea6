/**
 * The kernel key cache (src/store/keys/keychain/kernel-cache/: key-cache.ts, keyctl.c) on this machine's real
 * session keyring: what the addon stores and how (owner-only, expiring), and how the store
 * uses it — a copy serves reads only while it matches the store's key check value, a logout or a
 * new key removes it, stores from before the check value get one with their next write.
 * The keychain behind it is the fake one, so the tests can count what reached it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemKeyCache, type KeyCachePort } from '../../src/store/keys/keychain/kernel-cache/key-cache.js';
import { addonFile, thisHost } from '../../src/store/keys/keychain/kernel-cache/keyctl-addon.js';
import { openStore, type AccountStore } from '../../src/store/index.js';
import type { SessionIdentity } from '../../src/core/session-records.js';
import type { TokenGrant } from '../../src/core/oauth-terms.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { rawDb } from '../helpers/raw-db.js';

const onLinux = process.platform === 'linux';
const addon = addonFile(thisHost());
const T0 = Date.UTC(2025, 0, 1);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

/** The line of /proc/keys for a description, or undefined (the kernel lists the keys this process may view). */
function procKey(description: string): { perm: string; expiry: string } | undefined {
  const line = readFileSync('/proc/keys', 'utf8')
    .split('\n')
    .find((l) => l.endsWith(` ${description}: 32`) || l.includes(` ${description}: `));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/);
  return { expiry: f[3]!, perm: f[4]! };
}

function uniqueAccount(): string {
  return `data-key:/key-cache-test/${randomBytes(6).toString('hex')}/xtalk.db`;
}

function cache(seconds: number): KeyCachePort {
  const c = systemKeyCache(seconds, 'linux');
  if (!c) throw new Error('no key cache on Linux');
  return c;
}

describe.runIf(onLinux)('the keyctl addon on the session keyring', () => {
  it('is built into dist/ (npm run build)', () => {
    expect(existsSync(addon), `${addon}: see the build output for why it is missing`).toBe(true);
  });

  it('stores, reads and forgets a copy readable by its owner only, with an expiry', () => {
    const account = uniqueAccount();
    const key = randomBytes(32);
    const c = cache(600);
    cleanups.push(() => c.forget(account));
    expect(c.read(account)).toBeNull();
    c.store(account, key);
    expect(c.read(account)).toEqual(key);
    const listed = procKey(`xtalk:${account}`);
    // The owner: view read write search link setattr; possessor, group, other: nothing.
    expect(listed?.perm).toBe('003f0000');
    // An expiry in minutes (10m, 9m), not "perm".
    expect(listed?.expiry).toMatch(/^(10|9)m$/);
    // Storing again replaces the payload (a new key for the same store).
    const other = randomBytes(32);
    c.store(account, other);
    expect(c.read(account)).toEqual(other);
    c.forget(account);
    expect(c.read(account)).toBeNull();
    // Forgetting what is not there is fine.
    c.forget(account);
  });

  // su without pam_keyinit leaves the session keyring to a process of another user, who then
  // possesses it: possession alone must not open the copy.
  it.runIf(process.getuid?.() === 0 && existsSync('/usr/bin/setpriv'))(
    'another user sharing this session keyring cannot read the copy',
    () => {
      const account = uniqueAccount();
      const key = randomBytes(32);
      const c = cache(600);
      cleanups.push(() => c.forget(account));
      c.store(account, key);
      // A copy of the addon the other user can load (the checkout may sit in a private folder).
      const shared = mkdtempSync(join(tmpdir(), 'xtalk-keyctl-'));
      cleanups.push(() => rmSync(shared, { recursive: true, force: true }));
      chmodSync(shared, 0o755);
      copyFileSync(addon, join(shared, 'keyctl.node'));
      chmodSync(join(shared, 'keyctl.node'), 0o755);
      const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(join(shared, 'keyctl.node'))}); const k = m.exports.read(${JSON.stringify(`xtalk:${account}`)}); process.stdout.write(k ? k.toString('hex') : 'null');`;
      const as = (uid: string[]) =>
        spawnSync(uid.length ? '/usr/bin/setpriv' : process.execPath, [...uid, ...(uid.length ? [process.execPath] : []), '-e', script], {
          cwd: '/',
          encoding: 'utf8',
        });
      // The same script as this user reads it (so the refusal below is the kernel's, not the script's).
      expect(as([]).stdout).toBe(key.toString('hex'));
      const other = as(['--reuid=65534', '--regid=65534', '--clear-groups']);
      expect(other.status, other.stderr).toBe(0);
      expect(other.stdout).toBe('null');
    },
  );

  it('the kernel removes the copy when its time is up', async () => {
    const account = uniqueAccount();
    const c = cache(1);
    cleanups.push(() => c.forget(account));
    c.store(account, randomBytes(32));
    expect(c.read(account)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2100));
    expect(c.read(account)).toBeNull();
  });

  it('turned off (0 s): reads nothing and stores nothing, but still forgets', () => {
    const account = uniqueAccount();
    const on = cache(600);
    const off = cache(0);
    cleanups.push(() => on.forget(account));
    off.store(account, randomBytes(32));
    expect(on.read(account)).toBeNull();
    on.store(account, randomBytes(32));
    expect(off.read(account)).toBeNull();
    off.forget(account);
    expect(on.read(account)).toBeNull();
  });

  it('there is none but on Linux', () => {
    expect(systemKeyCache(600, 'darwin')).toBeUndefined();
    expect(systemKeyCache(600, 'win32')).toBeUndefined();
  });
});

const who = (sub: string): SessionIdentity => ({ issuer: 'https://id.test', sub, username: sub, email: null, claims: {}, clientId: 'cli' });
const grant = (n: string): TokenGrant => ({
  accessToken: `AT-${n}`,
  tokenType: 'Bearer',
  scope: null,
  expiresAt: T0 + 3_600_000,
  refreshToken: `RT-${n}`,
});

describe.runIf(onLinux)('a keychain store with the key cache', () => {
  function setup() {
    const home = mkdtempSync(join(tmpdir(), 'xtalk-key-cache-'));
    const dbPath = join(home, 'xtalk.db');
    const keychain = new FakeKeychain();
    const keyCache = cache(600);
    const account = () => `data-key:${join(realpathSync(home), 'xtalk.db')}`;
    const warnings: string[] = [];
    const open = (): AccountStore => {
      const store = openStore({
        dbPath,
        keyFilePath: join(home, 'xtalk.key'),
        mode: 'keychain',
        keychain,
        keyCache,
        warn: (m) => warnings.push(m),
      });
      cleanups.push(() => store.close());
      return store;
    };
    const gets = () => keychain.calls.filter((c) => c.op === 'get').length;
    cleanups.push(() => {
      if (existsSync(dbPath)) keyCache.forget(account());
      rmSync(home, { recursive: true, force: true });
    });
    return { dbPath, keychain, keyCache, account, open, gets, warnings };
  }

  it('the first read asks the keychain and keeps a copy; the next runs read the copy', async () => {
    const s = setup();
    const a = await s.open().saveLogin(who('a'), grant('a'), T0);
    // Writes (a login, a refresh) do not fill the cache: only a read does.
    expect(s.keyCache.read(s.account())).toBeNull();
    await s.open().saveRefresh(a.id, grant('a1'), undefined, T0 + 1000);
    expect(s.keyCache.read(s.account())).toBeNull();
    const before = s.gets();
    expect((await s.open().latestAccessToken(a.id))?.accessToken).toBe('AT-a1');
    expect(s.gets()).toBe(before + 1);
    expect(s.keyCache.read(s.account())).toEqual(Buffer.from(s.keychain.entries.get(s.account())!, 'base64'));
    for (let i = 0; i < 3; i++) expect((await s.open().latestAccessToken(a.id))?.accessToken).toBe('AT-a1');
    expect(s.gets()).toBe(before + 1);
  });

  it('a copy that is not the store’s key (another session logged in again) is dropped and the keychain read', async () => {
    const s = setup();
    const a = await s.open().saveLogin(who('a'), grant('a'), T0);
    s.keyCache.store(s.account(), randomBytes(32));
    const before = s.gets();
    expect((await s.open().latestAccessToken(a.id))?.accessToken).toBe('AT-a');
    expect(s.gets()).toBe(before + 1);
    expect(s.keyCache.read(s.account())).toEqual(Buffer.from(s.keychain.entries.get(s.account())!, 'base64'));
    // Not a key at all: the same.
    s.keyCache.store(s.account(), Buffer.from('short'));
    expect((await s.open().latestAccessToken(a.id))?.accessToken).toBe('AT-a');
    expect(s.gets()).toBe(before + 2);
  });

  it('a store from before the check value: no copy until its next write records one', async () => {
    const s = setup();
    const a = await s.open().saveLogin(who('a'), grant('a'), T0);
    rawDb(s.dbPath).run("DELETE FROM meta WHERE key = 'data_key_check'");
    const before = s.gets();
    await s.open().latestAccessToken(a.id);
    await s.open().latestAccessToken(a.id);
    expect(s.gets()).toBe(before + 2);
    expect(s.keyCache.read(s.account())).toBeNull();
    await s.open().saveRefresh(a.id, grant('a2'), undefined, T0 + 1000);
    expect(rawDb(s.dbPath).value("SELECT value FROM meta WHERE key = 'data_key_check'")).toEqual(expect.any(String));
    await s.open().latestAccessToken(a.id);
    const after = s.gets();
    expect((await s.open().latestAccessToken(a.id))?.accessToken).toBe('AT-a2');
    expect(s.gets()).toBe(after);
  });

  it('deleting the data key (logout of the last account) removes the copy', async () => {
    const s = setup();
    const store = s.open();
    const a = await store.saveLogin(who('a'), grant('a'), T0);
    await s.open().latestAccessToken(a.id);
    expect(s.keyCache.read(s.account())).not.toBeNull();
    store.deleteAccount(a.id);
    await store.deleteDataKey();
    expect(s.keyCache.read(s.account())).toBeNull();
    expect(rawDb(s.dbPath).value("SELECT count(*) FROM meta WHERE key IN ('credential_store', 'data_key_check')")).toBe(0);
  });

  it('writing never uses the copy: a key deleted behind xtalk’s back is replaced, and so is its copy', async () => {
    const s = setup();
    const a = await s.open().saveLogin(who('a'), grant('a'), T0);
    const old = s.keychain.entries.get(s.account())!;
    await s.open().latestAccessToken(a.id);
    expect(s.keyCache.read(s.account())).toEqual(Buffer.from(old, 'base64'));
    s.keychain.entries.delete(s.account());
    // Reading may still use the copy until it expires (docs/security.md: what the key cache trades) ...
    const store = s.open();
    expect((await store.latestAccessToken(a.id))?.accessToken).toBe('AT-a');
    // ... but a write, even by the store that just read with the copy, asks the keychain, finds
    // the key gone and starts over with a new one.
    const b = await store.saveLogin(who('b'), grant('b'), T0);
    expect(s.warnings).toEqual(['The stored data key was missing; removed 2 unreadable token(s). Other accounts must sign in again.']);
    const fresh = s.keychain.entries.get(s.account())!;
    expect(fresh).not.toBe(old);
    // The login forgot the old copy; the next read keeps the new key.
    expect(s.keyCache.read(s.account())).toBeNull();
    expect((await s.open().latestAccessToken(b.id))?.accessToken).toBe('AT-b');
    expect(s.keyCache.read(s.account())).toEqual(Buffer.from(fresh, 'base64'));
  });
});
