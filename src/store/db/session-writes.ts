import type { TokenGrant } from '../../core/oauth-terms.js';
import type { AccountRecord, SessionIdentity } from '../../core/session-records.js';
import { currentUserId, pointCurrentAt } from './current-account.js';
import { truncateWal } from './db.js';
import * as meta from './meta-records.js';
import { releaseReserveIfLow, secureRoom } from './room.js';
import type { Sql } from './sql.js';
import * as tokens from './token-tables.js';
import * as users from './users.js';

/**
 * The writes of a session that span tables (users.ts, token-tables.ts, current-account.ts,
 * meta-records.ts), each one transaction: a sign-in, the steps of a refresh, a logout. The caller
 * (AccountStore) brings the data key for writing; `faultPoint` is where crash tests stop the process.
 */

type FaultPoint = (name: string) => void;

/** A completed sign-in (see AccountStore.saveLogin); returns the user's id. */
export function writeSignIn(
  sql: Sql,
  identity: SessionIdentity,
  grant: TokenGrant,
  key: Buffer,
  now: number,
  faultPoint: FaultPoint,
  warn: (message: string) => void,
): number {
  const userId = sql.guard(() =>
    sql.db
      .transaction(() => {
        const id = users.upsertUser(sql, identity, new Date(now).toISOString());
        // Rows of an earlier session that this key cannot open would block its logout for good.
        const dropped = tokens.deleteUndecryptable(sql, id, key);
        if (dropped > 0)
          warn(
            `Removed ${dropped} stored token(s) of this account that could not be decrypted (their data key was replaced); they can no longer be used or revoked.`,
          );
        tokens.writeGrant(sql, id, grant, key, now);
        pointCurrentAt(sql, id);
        faultPoint('login-in-transaction');
        return id;
      })
      .immediate(),
  );
  // The reserve every refresh of this session counts on; a disk too full for it is reported by the first refresh.
  try {
    secureRoom(sql.dbPath);
  } catch {
    // The refresh refuses to start without room, with the reason.
  }
  return userId;
}

/** Before a refresh grant (see AccountStore.prepareRefreshWrite): room on the disk, and the commit rehearsed. */
export function rehearseRefreshWrite(sql: Sql, userId: number, key: Buffer): void {
  secureRoom(sql.dbPath);
  // The answer's commit rehearsed and rolled back: its statements prepared and its code warm, so
  // the real one (the moment between the provider's rotation and xtalk's commit) is short.
  const rehearsal = new Error('rehearsal');
  const grant = { accessToken: 'a', tokenType: 'Bearer', scope: null, expiresAt: 0, refreshToken: 'r', idToken: null };
  try {
    sql.guard(() =>
      sql.db.transaction(() => {
        tokens.writeGrant(sql, userId, grant, key, 0);
        meta.clearRefreshFailure(sql, userId);
        throw rehearsal;
      })(),
    );
  } catch (e) {
    if (e !== rehearsal) throw e;
  }
}

/** A whole refresh answer with its identity claims (see AccountStore.saveRefresh). */
export function writeRefresh(
  sql: Sql,
  account: AccountRecord,
  grant: TokenGrant,
  idClaims: Record<string, unknown> | undefined,
  key: Buffer,
  now: number,
  faultPoint: FaultPoint,
): void {
  const userId = account.id;
  sql.guard(() =>
    sql.db
      .transaction(() => {
        if (idClaims) users.updateClaims(sql, account, idClaims, now);
        tokens.writeGrant(sql, userId, grant, key, now);
        meta.clearRefreshFailure(sql, userId);
        faultPoint('refresh-in-transaction');
      })
      .immediate(),
  );
  releaseReserveIfLow(sql.dbPath);
}

/** A refresh answer's tokens the moment it arrives (see AccountStore.commitRefreshAnswer); returns the access token's row id. */
export function commitRefreshAnswer(sql: Sql, userId: number, grant: TokenGrant, key: Buffer, now: number, faultPoint: FaultPoint): number {
  const rowId = sql.guard(() =>
    sql.db.transaction(() => {
      const id = tokens.writeGrant(sql, userId, { ...grant, idToken: null }, key, now);
      meta.clearRefreshFailure(sql, userId);
      return id;
    })(),
  );
  releaseReserveIfLow(sql.dbPath);
  if (sql.db.inTransaction) sql.guard(() => sql.db.exec('COMMIT'));
  faultPoint('refresh-answer-committed');
  return rowId;
}

/** The checked ID token of a committed answer and its claims (see AccountStore.confirmRefresh). */
export function writeConfirmedRefresh(
  sql: Sql,
  account: AccountRecord,
  idToken: string | null,
  idClaims: Record<string, unknown> | undefined,
  key: Buffer,
  now: number,
): void {
  if (!idToken && !idClaims) return;
  sql.guard(() =>
    sql.db
      .transaction(() => {
        if (idClaims) users.updateClaims(sql, account, idClaims, now);
        if (idToken) tokens.writeIdToken(sql, account.id, idToken, key);
      })
      .immediate(),
  );
}

/** Only the rotated refresh token of an answer (see AccountStore.saveRotatedRefreshToken). */
export function writeRotatedRefreshToken(sql: Sql, userId: number, refreshToken: string, key: Buffer, now: number): void {
  sql.guard(() => sql.db.transaction(() => tokens.replaceRefreshToken(sql, userId, refreshToken, key, now)).immediate());
  releaseReserveIfLow(sql.dbPath);
}

/** A logout (see AccountStore.deleteSession). */
export function forgetSession(sql: Sql, userId: number, nextCurrent: number | null, keepProfile: boolean, faultPoint: FaultPoint): void {
  sql.guard(() =>
    sql.db
      .transaction(() => {
        tokens.deleteTokens(sql, userId);
        if (currentUserId(sql) === userId) pointCurrentAt(sql, nextCurrent);
        if (!keepProfile) forgetUser(sql, userId);
        faultPoint('logout-in-transaction');
      })
      .immediate(),
  );
  if (!keepProfile) truncateWal(sql.db, sql.dbPath);
}

/** Every profile that holds no token (see AccountStore.deleteProfilesWithoutSession); returns how many. */
export function forgetProfilesWithoutSession(sql: Sql): number {
  const deleted = sql.guard(() =>
    sql.db
      .transaction(() => {
        const ids = users.usersWithoutTokens(sql);
        for (const id of ids) {
          if (currentUserId(sql) === id) pointCurrentAt(sql, null);
          forgetUser(sql, id);
        }
        return ids.length;
      })
      .immediate(),
  );
  if (deleted > 0) truncateWal(sql.db, sql.dbPath);
  return deleted;
}

/** Inside the caller's transaction: the user row (its tokens by cascade) and what `meta` keeps about it. */
function forgetUser(sql: Sql, userId: number): void {
  meta.clearRefreshFailure(sql, userId);
  users.deleteUser(sql, userId);
}
