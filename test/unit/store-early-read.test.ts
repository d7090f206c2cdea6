import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateDataKey } from '../../src/store/crypto.js';
import { DataKey } from '../../src/store/keys/data-key.js';
import { keychainAccount } from '../../src/store/keys/keychain-read.js';
import { openDatabase } from '../../src/store/db/db.js';
import { guardKeychain } from '../../src/store/keys/keychain/system-keychain.js';
import { Sql } from '../../src/store/db/sql.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function store(kind: 'keychain' | 'file'): { sql: Sql; dbPath: string; keyFilePath: string } {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-early-'));
  const dbPath = join(home, 'xtalk.db');
  const db = openDatabase(dbPath);
  db.prepare("INSERT INTO meta (key, value) VALUES ('credential_store', ?)").run(kind);
  cleanups.push(
    () => rmSync(home, { recursive: true, force: true }),
    () => db.close(),
  );
  return { sql: new Sql(db, dbPath), dbPath, keyFilePath: join(home, 'xtalk.key') };
}

describe('a keychain read started before the store opened', () => {
  it('is the key of a keychain store, without a second keychain call', async () => {
    const { sql, dbPath, keyFilePath } = store('keychain');
    const key = generateDataKey();
    const keychain = new FakeKeychain().forbidCalls();
    const early = { account: keychainAccount(dbPath), cached: null, secret: Promise.resolve(key.toString('base64')) };
    const dataKey = new DataKey({ sql, keyFilePath, mode: 'auto', keychain: guardKeychain(keychain), warn: () => {}, early });
    expect(await dataKey.forReading()).toEqual(key);
    keychain.verify();
  });

  it('fails like the keychain call it replaces', async () => {
    const { sql, dbPath, keyFilePath } = store('keychain');
    const keychain = new FakeKeychain().forbidCalls();
    const early = { account: keychainAccount(dbPath), cached: null, secret: Promise.reject(new Error('boom')) };
    early.secret.catch(() => undefined);
    const dataKey = new DataKey({ sql, keyFilePath, mode: 'auto', keychain: guardKeychain(keychain), warn: () => {}, early });
    await expect(dataKey.forReading()).rejects.toThrow(/kept in the OS keychain, which is unavailable/);
    keychain.verify();
  });

  it('is ignored by a file store, and one for another store is never used', async () => {
    const file = store('file');
    const key = generateDataKey();
    writeFileSync(file.keyFilePath, key.toString('base64'), { mode: 0o600 });
    const wrong = { account: keychainAccount(file.dbPath), cached: null, secret: Promise.resolve(generateDataKey().toString('base64')) };
    const fileKey = new DataKey({
      sql: file.sql,
      keyFilePath: file.keyFilePath,
      mode: 'auto',
      keychain: guardKeychain(new FakeKeychain().forbidCalls()),
      warn: () => {},
      early: wrong,
    });
    expect(await fileKey.forReading()).toEqual(key);

    const other = store('keychain');
    const keychain = new FakeKeychain();
    const right = generateDataKey();
    keychain.entries.set(keychainAccount(other.dbPath), right.toString('base64'));
    const elsewhere = {
      account: 'data-key:/somewhere/else/xtalk.db',
      cached: null,
      secret: Promise.resolve(generateDataKey().toString('base64')),
    };
    const otherKey = new DataKey({
      sql: other.sql,
      keyFilePath: other.keyFilePath,
      mode: 'auto',
      keychain: guardKeychain(keychain),
      warn: () => {},
      early: elsewhere,
    });
    expect(await otherKey.forReading()).toEqual(right);
    expect(keychain.calls).toEqual([{ op: 'get', account: keychainAccount(other.dbPath) }]);
  });
});
