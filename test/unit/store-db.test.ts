import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import {
  APPLICATION_ID,
  BUSY_TIMEOUT_MS,
  guardSqlite,
  openDatabase,
  openForReading,
  SCHEMA_VERSION,
  type Db,
} from '../../src/store/db/db.js';
import { withImmediateLock } from '../../src/store/db/write-lock.js';
import { openStore } from '../../src/store/index.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';

const dirs: string[] = [];
const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xtalk-db-'));
  dirs.push(dir);
  return dir;
}

function openDb(path: string): Db {
  const db = openDatabase(path);
  open.push(db);
  return db;
}

const mode = (path: string) => statSync(path).mode & 0o777;
const posix = process.platform !== 'win32';

describe('openDatabase', () => {
  it('creates the schema with WAL, foreign keys, busy timeout and synchronous=NORMAL', () => {
    const db = openDb(join(tempDir(), 'home', 'xtalk.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['access_token', 'meta', 'refresh_token', 'sqlite_sequence', 'user']);
  });

  it('reopens an existing database without migrating again', () => {
    const path = join(tempDir(), 'xtalk.db');
    openDb(path).prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
    open[0]!.close();
    expect(openDb(path).prepare("SELECT value FROM meta WHERE key = 'x'").pluck().get()).toBe('y');
  });

  it.runIf(posix)('makes the folder 0700 and the database, -wal and -shm files 0600', () => {
    const dir = join(tempDir(), 'new', 'home');
    const path = join(dir, 'xtalk.db');
    openDb(path).prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
    expect(mode(dir)).toBe(0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      expect(existsSync(file)).toBe(true);
      expect(mode(file)).toBe(0o600);
    }
  });

  it.runIf(posix)('narrows an existing folder and files that others can read', () => {
    const dir = join(tempDir(), 'home');
    const path = join(dir, 'xtalk.db');
    openDb(path).close();
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    writeFileSync(`${path}-wal`, '');
    chmodSync(path, 0o644);
    chmodSync(`${path}-wal`, 0o666);
    openDb(path);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
  });

  it('refuses a database written by a newer xtalk', () => {
    const path = join(tempDir(), 'xtalk.db');
    const db = openDb(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const err = catchError(() => openDatabase(path));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(new RegExp(`newer xtalk \\(schema version ${SCHEMA_VERSION + 1}`));
    expect(err.hint).toMatch(/Upgrade xtalk, or move it away/);
  });

  it('migrates a version 1 database in place: the id_token and revocation_endpoint columns are added, rows stay', () => {
    const path = join(tempDir(), 'xtalk.db');
    const db = openDb(path);
    db.prepare("INSERT INTO user (issuer, sub, created_at, updated_at) VALUES ('https://op.example', 'alice', 'now', 'now')").run();
    db.exec('ALTER TABLE user DROP COLUMN id_token');
    db.exec('ALTER TABLE user DROP COLUMN revocation_endpoint');
    db.pragma('user_version = 1');
    db.close();
    const again = openDatabase(path);
    try {
      expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(again.prepare('SELECT sub, id_token, revocation_endpoint FROM user').all()).toEqual([
        { sub: 'alice', id_token: null, revocation_endpoint: null },
      ]);
    } finally {
      again.close();
    }
  });

  it('refuses a file that is not SQLite at all', () => {
    const path = join(tempDir(), 'xtalk.db');
    writeFileSync(path, 'this is definitely not a database\n'.repeat(200));
    const err = catchError(() => openDatabase(path));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/not an xtalk database or is corrupt/);
    expect(err.hint).toMatch(/Move it away/);
  });

  it("refuses another application's SQLite database, with or without an application id", () => {
    const other = join(tempDir(), 'other.db');
    const db = openDb(other);
    db.pragma('application_id = 12345');
    db.close();
    expect(catchError(() => openDatabase(other)).message).toMatch(/is not an xtalk database/);

    const plain = join(tempDir(), 'plain.db');
    const db2 = openDb(plain);
    db2.exec('DROP TABLE access_token; DROP TABLE refresh_token; DROP TABLE user; DROP TABLE meta; CREATE TABLE notes (body TEXT)');
    db2.pragma('user_version = 0');
    db2.pragma('application_id = 0');
    db2.close();
    const err = catchError(() => openDatabase(plain));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.hint).toMatch(/Move it away/);
  });

  it('turns SQLITE_BUSY into a StoreError with a hint', () => {
    const path = join(tempDir(), 'xtalk.db');
    const holder = openDb(path);
    const waiter = openDb(path);
    holder.exec('BEGIN IMMEDIATE');
    waiter.pragma('busy_timeout = 20');
    const err = catchError(() => guardSqlite(path, () => waiter.prepare("INSERT INTO meta (key, value) VALUES ('a', 'b')").run()));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/locked by another xtalk process/);
    expect(err.hint).toBeTruthy();
    holder.exec('ROLLBACK');
  });
});

describe('openForReading', () => {
  function stored(): { dir: string; path: string } {
    const dir = tempDir();
    const path = join(dir, 'xtalk.db');
    const db = openDatabase(path);
    db.prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
    db.close();
    return { dir, path };
  }

  it('reads a current store read-only, creating no -wal or -shm and changing no byte', () => {
    const { dir, path } = stored();
    const bytes = readFileSync(path);
    const db = openForReading(path)!;
    open.push(db);
    expect(db.readonly).toBe(true);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'x'").pluck().get()).toBe('y');
    expect(() => db.prepare("INSERT INTO meta (key, value) VALUES ('a', 'b')").run()).toThrow(/readonly/);
    db.close();
    expect(readdirSync(dir)).toEqual(['xtalk.db']);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("sees what is still only in another connection's WAL", () => {
    const { path } = stored();
    const writer = openDb(path);
    writer.prepare("INSERT INTO meta (key, value) VALUES ('late', 'in the wal')").run();
    expect(existsSync(`${path}-wal`)).toBe(true);
    const db = openForReading(path)!;
    open.push(db);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'late'").pluck().get()).toBe('in the wal');
  });

  it('reads a missing store as an empty read-only one; leaves an empty or older store to the read-write path; creates nothing', () => {
    const dir = tempDir();
    const missing = openForReading(join(dir, 'home', 'xtalk.db'))!;
    expect(missing.readonly).toBe(true);
    expect(missing.prepare('SELECT count(*) FROM user').pluck().get()).toBe(0);
    expect(missing.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    missing.close();
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'xtalk.db'), '');
    expect(openForReading(join(dir, 'xtalk.db'))).toBeUndefined();
    const { path } = stored();
    const db = openDb(path);
    db.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
    db.close();
    expect(openForReading(path)).toBeUndefined();
  });

  it('refuses newer, foreign and corrupt files as openDatabase does', () => {
    const { path } = stored();
    const db = openDb(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(catchError(() => openForReading(path)).message).toMatch(/newer xtalk/);
    const junk = join(tempDir(), 'xtalk.db');
    writeFileSync(junk, 'this is definitely not a database\n'.repeat(200));
    expect(catchError(() => openForReading(junk)).message).toMatch(/not an xtalk database or is corrupt/);
  });
});

describe('openStore', () => {
  it('opens read-write at once for a command that will write', () => {
    const dir = tempDir();
    const path = join(dir, 'xtalk.db');
    openDatabase(path).close();
    const store = openStore({
      dbPath: path,
      keyFilePath: join(dir, 'xtalk.key'),
      mode: 'file',
      keychain: new FakeKeychain().forbidCalls(),
      warn: () => {},
      writing: true,
    });
    try {
      expect(readdirSync(dir).sort()).toEqual(['xtalk.db', 'xtalk.db-shm', 'xtalk.db-wal']);
    } finally {
      store.close();
    }
  });

  it('reads without opening the store read-write, and opens it read-write for the first write', () => {
    const dir = tempDir();
    const path = join(dir, 'xtalk.db');
    openDatabase(path).close();
    const store = openStore({
      dbPath: path,
      keyFilePath: join(dir, 'xtalk.key'),
      mode: 'file',
      keychain: new FakeKeychain().forbidCalls(),
      warn: () => {},
    });
    try {
      expect(store.listAccounts()).toEqual([]);
      expect(store.learnedScope('https://op.example')).toBeUndefined();
      expect(readdirSync(dir)).toEqual(['xtalk.db']);
      store.rememberScope('https://op.example', 'openid');
      expect(existsSync(`${path}-wal`)).toBe(true);
      expect(store.learnedScope('https://op.example')).toBe('openid');
    } finally {
      store.close();
    }
    expect(readdirSync(dir)).toEqual(['xtalk.db']);
  });
});

describe('disk faults', () => {
  it('a write the store cannot take because it is read-only says so, not "check the permissions"', () => {
    const path = join(tempDir(), 'xtalk.db');
    openDatabase(path).close();
    const db = openForReading(path)!;
    open.push(db);
    const err = catchError(() => guardSqlite(path, () => db.prepare("INSERT INTO meta (key, value) VALUES ('a', 'b')").run()));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.facts.reason).toBe('read_only');
    expect(err.message).toMatch(/read-only \(SQLITE_READONLY\)/);
    expect(err.hint).toMatch(/set XTALK_HOME to a writable folder/);
  });

  it('ENOSPC, EDQUOT and SQLITE_FULL are a full disk; EROFS is a read-only file system', () => {
    const path = join(tempDir(), 'xtalk.db');
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const err = catchError(() =>
        guardSqlite(path, () => {
          throw Object.assign(new Error(`${code}: write failed`), { code });
        }),
      );
      expect(err.facts.reason, code).toBe('full');
      expect(err.message).toBe(`the disk holding ${path} is full (${code})`);
      expect(err.hint).toMatch(/^Free some disk space/);
    }
    const rofs = catchError(() =>
      guardSqlite(path, () => {
        throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
      }),
    );
    expect(rofs.facts.reason).toBe('read_only');
    expect(rofs.hint).not.toMatch(/permissions/);
  });
});

describe('withImmediateLock', () => {
  it('holds the write lock across an await, and rolls back when the callback throws', async () => {
    const path = join(tempDir(), 'xtalk.db');
    const db = openDb(path);
    const other = openDb(path);
    other.pragma('busy_timeout = 10');
    await withImmediateLock(db, path, async () => {
      db.prepare("INSERT INTO meta (key, value) VALUES ('kept', '1')").run();
      await new Promise((r) => setTimeout(r, 5));
      expect(() => guardSqlite(path, () => other.prepare("INSERT INTO meta (key, value) VALUES ('b', '1')").run())).toThrow(/locked/);
    });
    await expect(
      withImmediateLock(db, path, async () => {
        db.prepare("INSERT INTO meta (key, value) VALUES ('dropped', '1')").run();
        await Promise.resolve();
        throw new Error('network down');
      }),
    ).rejects.toThrow('network down');
    expect(db.inTransaction).toBe(false);
    expect(other.prepare('SELECT key FROM meta ORDER BY key').pluck().all()).toEqual(['kept']);
  });
});

function catchError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (e) {
    return e as StoreError;
  }
  throw new Error('expected an error');
}
