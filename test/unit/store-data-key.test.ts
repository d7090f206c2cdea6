import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeychainError, SessionExpiredError, StoreError } from '../../src/errors.js';
import { openStore, KeychainUnavailableError, type AccountStore } from '../../src/store/index.js';
import type { CredentialStoreMode, TokenGrant } from '../../src/core/oauth-terms.js';
import type { SessionIdentity } from '../../src/core/session-records.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';

const T0 = Date.UTC(2025, 0, 1);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-key-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

function open(home: string, mode: CredentialStoreMode, keychain: FakeKeychain, keychainTimeoutMs?: number) {
  const warnings: string[] = [];
  const store = openStore({
    dbPath: join(home, 'xtalk.db'),
    keyFilePath: join(home, 'keys', 'data.key'),
    mode,
    keychain,
    keychainTimeoutMs,
    warn: (m) => warnings.push(m),
  });
  cleanups.push(
    () => keychain.verify(),
    () => store.close(),
  );
  return { store, warnings, keyFile: join(home, 'keys', 'data.key') };
}

const who = (sub: string): SessionIdentity => ({ issuer: 'https://id.test', sub, username: sub, email: null, claims: {}, clientId: 'cli' });
const grant = (n: string): TokenGrant => ({
  accessToken: `AT-${n}`,
  tokenType: 'Bearer',
  scope: null,
  expiresAt: T0 + 3_600_000,
  refreshToken: `RT-${n}`,
});
const accountOf = (home: string) => `data-key:${join(realpathSync(home), 'xtalk.db')}`;

async function login(store: AccountStore, sub: string) {
  return store.saveLogin(who(sub), grant(sub), T0);
}

describe('data key', () => {
  it('auto: keeps the key in the keychain when there is one', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const { store, warnings, keyFile } = open(home, 'auto', keychain);
    const a = await login(store, 'a');
    expect(store.credentialStore()).toBe('keychain');
    expect(Buffer.from(keychain.entries.get(accountOf(home))!, 'base64')).toHaveLength(32);
    expect(existsSync(keyFile)).toBe(false);
    expect(warnings).toEqual([]);
    store.close();
    const again = open(home, 'auto', keychain).store;
    expect((await again.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
  });

  it('auto: falls back to a 0600 key file and warns once when the keychain is unavailable', async () => {
    const home = tempHome();
    const { store, warnings, keyFile } = open(home, 'auto', new FakeKeychain('unavailable'));
    const a = await login(store, 'a');
    await login(store, 'b');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(
      `No OS keychain available (no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set?)); keeping the key in ${keyFile} (0600). Set XTALK_CREDENTIAL_STORE=keychain to make this an error.`,
    );
    expect(store.credentialStore()).toBe('file');
    if (process.platform !== 'win32') {
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, 'keys')).mode & 0o777).toBe(0o700);
    }
    expect(Buffer.from(readFileSync(keyFile, 'utf8'), 'base64')).toHaveLength(32);
    store.close();
    // The recorded kind wins: a keychain that came back is not consulted, and nobody is warned again.
    const later = open(home, 'auto', new FakeKeychain().forbidCalls());
    expect((await later.store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
    await login(later.store, 'c');
    expect(later.warnings).toEqual([]);
  });

  it('keychain: an unavailable keychain is an error, and nothing is written', async () => {
    const home = tempHome();
    const { store, warnings, keyFile } = open(home, 'keychain', new FakeKeychain('unavailable'));
    const err = await login(store, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect(err).toBeInstanceOf(KeychainError);
    expect((err as KeychainError).exitCode).toBe(1);
    expect((err as KeychainError).message).toMatch(/^OS keychain unavailable: no D-Bus session bus/);
    expect(existsSync(keyFile)).toBe(false);
    expect(store.credentialStore()).toBeNull();
    expect(store.listAccounts()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('file: never calls the keychain', async () => {
    const home = tempHome();
    const { store, keyFile } = open(home, 'file', new FakeKeychain().forbidCalls());
    const a = await login(store, 'a');
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
    expect((await store.refreshToken(a.id))!.refreshToken).toBe('RT-a');
    expect(store.credentialStore()).toBe('file');
    expect(existsSync(keyFile)).toBe(true);
  });

  it('file: a key file over 4 KiB is refused unread; a link to the real key file is read', async () => {
    const home = tempHome();
    const first = open(home, 'file', new FakeKeychain().forbidCalls());
    const a = await login(first.store, 'a');
    first.store.close();
    const real = join(home, 'real.key');
    renameSync(first.keyFile, real);
    symlinkSync(real, first.keyFile);
    expect((await open(home, 'file', new FakeKeychain().forbidCalls()).store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
    unlinkSync(first.keyFile);
    writeFileSync(first.keyFile, `${readFileSync(real, 'utf8')}${' '.repeat(4096)}`);
    const err = await open(home, 'file', new FakeKeychain().forbidCalls())
      .store.latestAccessToken(a.id)
      .catch((e: unknown) => e as StoreError);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({
      code: 'DATA_KEY_INVALID',
      message: `the key file ${first.keyFile} is larger than 4096 bytes; xtalk did not read it`,
    });
    expect((err as StoreError).hint).toMatch(/put the key file back, or remove this one and run `xtalk login`/);
  });

  it('reads that need no secret never touch the keychain', async () => {
    const home = tempHome();
    const first = open(home, 'keychain', new FakeKeychain());
    const a = await login(first.store, 'a');
    first.store.close();
    const { store } = open(home, 'keychain', new FakeKeychain().forbidCalls());
    expect(store.currentAccount()?.id).toBe(a.id);
    expect(store.listAccounts()).toHaveLength(1);
    expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + 3_600_000);
    expect(store.credentialStore()).toBe('keychain');
  });

  it('a key recorded in the keychain is used even when the file store is requested', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const a = await login(open(home, 'keychain', keychain).store, 'a');
    const { store, keyFile } = open(home, 'file', keychain);
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
    await login(store, 'b');
    expect(existsSync(keyFile)).toBe(false);
    expect(store.credentialStore()).toBe('keychain');
  });

  it('never replaces a keychain key with a file key when the keychain goes away', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const a = await login(open(home, 'auto', keychain).store, 'a');
    keychain.state = 'unavailable';
    const { store, keyFile, warnings } = open(home, 'auto', keychain);
    const err = await store.latestAccessToken(a.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainError);
    expect((err as KeychainError).message).toMatch(/is kept in the OS keychain, which is unavailable: no D-Bus session bus/);
    expect((err as KeychainError).hint).toMatch(/will not switch to a key file/);
    await expect(login(store, 'b')).rejects.toBeInstanceOf(KeychainError);
    expect(existsSync(keyFile)).toBe(false);
    expect(store.credentialStore()).toBe('keychain');
    expect(warnings).toEqual([]);
    keychain.state = 'available';
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
  });

  it('a key recorded in a file is used even when the keychain store is requested', async () => {
    const home = tempHome();
    const a = await login(open(home, 'file', new FakeKeychain()).store, 'a');
    const { store } = open(home, 'keychain', new FakeKeychain().forbidCalls());
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
  });

  it.each(['file', 'keychain'] as const)('%s: a lost key is exit 4, then a fresh login works', async (mode) => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const first = open(home, mode, keychain);
    const a = await login(first.store, 'a');
    first.store.close();
    if (mode === 'file') unlinkSync(first.keyFile);
    else keychain.entries.clear();

    const { store, warnings } = open(home, mode, keychain);
    const err = await store.latestAccessToken(a.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionExpiredError);
    expect(err).toMatchObject({ exitCode: 4, code: 'SESSION_EXPIRED', message: 'the stored data key is missing' });
    expect((err as SessionExpiredError).facts.dataKeyGone).toEqual(expect.any(String));
    expect((err as SessionExpiredError).hint).toMatch(/xtalk login/);
    await expect(store.refreshToken(a.id)).rejects.toBeInstanceOf(SessionExpiredError);
    expect(store.latestAccessTokenExpiry(a.id)).toBe(T0 + 3_600_000);

    const b = await login(store, 'b');
    expect(warnings).toEqual([expect.stringMatching(/data key was missing; removed 2 unreadable token/)]);
    expect((await store.latestAccessToken(b.id))!.accessToken).toBe('AT-b');
    expect(await store.latestAccessToken(a.id)).toBeUndefined();
    expect(store.credentialStore()).toBe(mode);
  });

  it('refuses a key that is not 32 bytes', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const a = await login(open(home, 'keychain', keychain).store, 'a');
    keychain.entries.set(accountOf(home), 'c2hvcnQ=');
    await expect(open(home, 'keychain', keychain).store.latestAccessToken(a.id)).rejects.toBeInstanceOf(StoreError);
  });

  it('gives two homes two keychain entries', async () => {
    const keychain = new FakeKeychain();
    const one = tempHome();
    const two = tempHome();
    await login(open(one, 'keychain', keychain).store, 'a');
    await login(open(two, 'keychain', keychain).store, 'a');
    expect([...keychain.entries.keys()].sort()).toEqual([accountOf(one), accountOf(two)].sort());
  });

  it('creates one key when two logins race in one process', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const { store } = open(home, 'keychain', keychain);
    const [a, b] = await Promise.all([login(store, 'a'), login(store, 'b')]);
    expect(keychain.calls.filter((c) => c.op === 'set')).toHaveLength(1);
    expect((await store.latestAccessToken(a.id))!.accessToken).toBe('AT-a');
    expect((await store.latestAccessToken(b.id))!.accessToken).toBe('AT-b');
  });

  it('a hanging keychain gives up after the timeout (keychain mode errors, auto falls back)', async () => {
    const keychain = new FakeKeychain('hang');
    const strict = open(tempHome(), 'keychain', keychain, 150);
    const started = Date.now();
    const err = await login(strict.store, 'a').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect((err as Error).message).toBe('OS keychain unavailable: timed out after 150 ms');

    const lenient = open(tempHome(), 'auto', keychain, 150);
    await login(lenient.store, 'a');
    expect(lenient.warnings).toEqual([expect.stringMatching(/^No OS keychain available \(timed out after 150 ms\); keeping the key in /)]);
    expect(lenient.store.credentialStore()).toBe('file');
  });

  it('deleteDataKey removes the key once no tokens are left', async () => {
    const home = tempHome();
    const keychain = new FakeKeychain();
    const { store } = open(home, 'keychain', keychain);
    const a = await login(store, 'a');
    await expect(store.deleteDataKey()).rejects.toBeInstanceOf(StoreError);
    store.deleteAccount(a.id);
    await store.deleteDataKey();
    expect(keychain.entries.size).toBe(0);
    expect(store.credentialStore()).toBeNull();
    const b = await login(store, 'b');
    expect(keychain.entries.size).toBe(1);
    expect((await store.latestAccessToken(b.id))!.accessToken).toBe('AT-b');
  });
});

describe('leftovers of a killed key-file write', () => {
  it('removes staged key files older than a minute, and keeps fresh ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-staged-'));
    const old = join(dir, 'xtalk.key.4242.tmp');
    const fresh = join(dir, 'xtalk.key.4343.tmp');
    const other = join(dir, 'xtalk.key.notes.tmp');
    for (const f of [old, fresh, other]) writeFileSync(f, 'x');
    const past = new Date(Date.now() - 5 * 60_000);
    utimesSync(old, past, past);
    utimesSync(other, past, past);
    const store = openStore({ dbPath: join(dir, 'xtalk.db'), keyFilePath: join(dir, 'xtalk.key'), mode: 'file', warn: () => {} });
    const grant = { accessToken: 'at', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 60_000, refreshToken: 'rt' };
    await store.saveLogin(
      { issuer: 'https://i.example', sub: 's', username: 'u', email: null, claims: {}, clientId: 'c' },
      grant,
      Date.now(),
    );
    store.close();
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(join(dir, 'xtalk.key'))).toBe(true);
  });
});

describe.skipIf(process.getuid?.() !== 0)('a key file on a full disk', () => {
  // Mounting a tmpfs needs root (CI runs as root).
  it('is reported as a full disk, not as a permissions problem', async () => {
    const home = tempHome();
    const disk = mkdtempSync(join(tmpdir(), 'xtalk-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', disk]);
    cleanups.push(
      () => rmSync(disk, { recursive: true, force: true }),
      () => execFileSync('umount', [disk]),
    );
    try {
      writeFileSync(join(disk, 'filler'), Buffer.alloc(1024 * 1024));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const keychain = new FakeKeychain().forbidCalls();
    const store = openStore({
      dbPath: join(home, 'xtalk.db'),
      keyFilePath: join(disk, 'xtalk.key'),
      mode: 'file',
      keychain,
      warn: () => {},
    });
    cleanups.push(() => store.close());
    const err = await login(store, 'a').catch((e: unknown) => e as StoreError);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).facts.reason).toBe('full');
    expect((err as StoreError).hint).toMatch(/^Free some disk space/);
  });
});
