// Seeds a copy of a signed-in xtalk home with a large store for `npm run bench`: extra accounts and
// access-token rows written straight into SQLite, in one transaction. The current account keeps
// its real (valid) token as the newest row, next to many older copies of it, so `xtalk token`
// has to find the right row among others of the same user.
import { randomBytes, randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AccessTokenRow } from '../src/store/db/token-tables.js';

export interface SeedOptions {
  /** Accounts in the store afterwards, the signed-in one included. */
  users: number;
  /** access_token rows in the store afterwards. */
  accessTokens: number;
  /** Older rows added for the current account (copies of its real token, earlier expiries). */
  currentUserExtraRows: number;
}

export interface SeedResult {
  ms: number;
  users: number;
  accessTokens: number;
  currentUserId: number;
  currentUserRows: number;
  bytes: number;
}

interface UserRow {
  id: number;
  issuer: string;
  client_id: string | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export function seedLargeStore(dbPath: string, opts: SeedOptions): SeedResult {
  const started = process.hrtime.bigint();
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 30000');
    db.pragma('foreign_keys = ON');
    const currentId = Number(db.prepare("SELECT value FROM meta WHERE key = 'current_user_id'").pluck().get());
    const current = db.prepare('SELECT id, issuer, client_id FROM user WHERE id = ?').get(currentId) as UserRow | undefined;
    if (!current) throw new Error('seed: the store has no current account; log in first');
    const real = db.prepare('SELECT * FROM access_token WHERE user_id = ? ORDER BY expires_at DESC, id DESC LIMIT 1').get(currentId) as
      | AccessTokenRow
      | undefined;
    if (!real) throw new Error('seed: the current account has no access token');
    const refreshToken = db.prepare('SELECT token FROM refresh_token WHERE user_id = ?').pluck().get(currentId) as string;

    // Never decrypted: same shape and length as real ciphertexts, random bytes.
    const garbage = (like: string) => `v1.${randomBytes(Math.max(16, Math.floor(((like.length - 3) * 3) / 4))).toString('base64url')}`;
    const now = Date.now();
    const iso = new Date(now).toISOString();

    const insertUser = db.prepare(
      'INSERT INTO user (issuer, sub, username, email, claims, client_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertRefresh = db.prepare('INSERT INTO refresh_token (user_id, token, created_at, updated_at) VALUES (?, ?, ?, ?)');
    const insertAccess = db.prepare(
      'INSERT INTO access_token (user_id, refresh_token_id, token, token_type, scope, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );

    db.transaction(() => {
      const existingUsers = db.prepare('SELECT count(*) FROM user').pluck().get() as number;
      const others: Array<{ userId: number; refreshId: number }> = [];
      for (let i = existingUsers; i < opts.users; i++) {
        const name = `bench-user-${i}`;
        const email = `${name}@example.test`;
        const claims = JSON.stringify({ sub: name, preferred_username: name, email, email_verified: true });
        const userId = Number(insertUser.run(current.issuer, name, name, email, claims, current.client_id, iso, iso).lastInsertRowid);
        const refreshId = Number(insertRefresh.run(userId, garbage(refreshToken), iso, iso).lastInsertRowid);
        others.push({ userId, refreshId });
      }
      if (others.length === 0) throw new Error('seed: nothing to add (the store already has enough accounts)');

      const existingRows = db.prepare('SELECT count(*) FROM access_token').pluck().get() as number;
      const otherRows = opts.accessTokens - existingRows - opts.currentUserExtraRows;
      // Row owners in random order, so the current account's rows are spread over the table.
      const owners: number[] = [];
      for (let k = 1; k <= opts.currentUserExtraRows; k++) owners.push(-k);
      for (let k = 0; k < otherRows; k++) owners.push(k % others.length);
      for (let i = owners.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [owners[i], owners[j]] = [owners[j]!, owners[i]!];
      }
      const fakeToken = garbage(real.token);
      for (const owner of owners) {
        if (owner < 0) {
          // Copies of the real ciphertext (valid: same user, same AAD), one minute older each;
          // with a one-hour token about half of them are already expired.
          const minutesOlder = -owner;
          const expiresAt = real.expires_at - minutesOlder * MINUTE;
          insertAccess.run(currentId, real.refresh_token_id, real.token, real.token_type, real.scope, expiresAt, expiresAt - HOUR);
        } else {
          const other = others[owner]!;
          const expiresAt = now + randomInt(-2 * HOUR, HOUR);
          insertAccess.run(other.userId, other.refreshId, fakeToken, 'Bearer', real.scope, expiresAt, expiresAt - HOUR);
        }
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');

    const count = (sql: string, ...args: unknown[]) =>
      db
        .prepare(sql)
        .pluck()
        .get(...args) as number;
    const result: SeedResult = {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      users: count('SELECT count(*) FROM user'),
      accessTokens: count('SELECT count(*) FROM access_token'),
      currentUserId: currentId,
      currentUserRows: count('SELECT count(*) FROM access_token WHERE user_id = ?', currentId),
      bytes: 0,
    };
    db.close();
    result.bytes = statSync(dbPath).size;
    return result;
  } finally {
    if (db.open) db.close();
  }
}

/** access_token rows of `userId` in the store at `dbPath` (read-only). */
export function countAccessTokens(dbPath: string, userId: number): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM access_token WHERE user_id = ?').pluck().get(userId) as number;
  } finally {
    db.close();
  }
}
