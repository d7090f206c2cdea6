import type { Sql } from './sql.js';
import type { CredentialStoreKind, SecretAuthMethod } from '../../core/oauth-terms.js';
import type { RefreshFailure } from '../../core/session-records.js';

/** What the store keeps in `meta` besides the current-account pointer: refresh failures, learned scopes and auth methods, the key's place. */

const refreshFailureKey = (userId: number) => `refresh_failure:${userId}`;
const UPSERT = 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

export function recordRefreshFailure(sql: Sql, userId: number, failure: RefreshFailure): void {
  sql.guard(() => sql.stmt(UPSERT).run(refreshFailureKey(userId), JSON.stringify(failure)));
}

/** Inside the caller's transaction: a successful refresh clears the failure (and a deleted profile its record). */
export function clearRefreshFailure(sql: Sql, userId: number): void {
  sql.stmt('DELETE FROM meta WHERE key = ?').run(refreshFailureKey(userId));
}

export function refreshFailureSince(sql: Sql, userId: number, since: number): RefreshFailure | undefined {
  const value = sql.guard(() => sql.stmt('SELECT value FROM meta WHERE key = ?').pluck().get(refreshFailureKey(userId))) as
    | string
    | undefined;
  if (value === undefined) return undefined;
  try {
    const failure = JSON.parse(value) as RefreshFailure;
    return typeof failure.at === 'number' && failure.at >= since && typeof failure.message === 'string' ? failure : undefined;
  } catch {
    return undefined;
  }
}

export function learnedScope(sql: Sql, issuer: string): string | undefined {
  const value = sql.guard(() => sql.stmt('SELECT value FROM meta WHERE key = ?').pluck().get(`scope:${issuer}`));
  return typeof value === 'string' ? value : undefined;
}

export function rememberScope(sql: Sql, issuer: string, scope: string): void {
  sql.guard(() => sql.stmt(UPSERT).run(`scope:${issuer}`, scope));
}

// JSON of [issuer, client id]: neither can then run into the other.
const authMethodKey = (issuer: string, clientId: string) => `auth_method:${JSON.stringify([issuer, clientId])}`;

export function learnedAuthMethod(sql: Sql, issuer: string, clientId: string): SecretAuthMethod | undefined {
  const value = sql.guard(() => sql.stmt('SELECT value FROM meta WHERE key = ?').pluck().get(authMethodKey(issuer, clientId)));
  return value === 'client_secret_basic' || value === 'client_secret_post' ? value : undefined;
}

export function rememberAuthMethod(sql: Sql, issuer: string, clientId: string, method: SecretAuthMethod): void {
  sql.guard(() => sql.stmt(UPSERT).run(authMethodKey(issuer, clientId), method));
}

/** Where the data key lives, as recorded in `meta.credential_store` when it was created; null before that. */
export function recordedCredentialStore(sql: Sql): CredentialStoreKind | null {
  const value = sql.guard(() => sql.stmt("SELECT value FROM meta WHERE key = 'credential_store'").pluck().get());
  return value === 'keychain' || value === 'file' ? value : null;
}

/** The check value of the current data key (see dataKeyCheck), recorded when the key was created or first written with. */
export function recordedKeyCheck(sql: Sql): string | null {
  const value = sql.guard(() => sql.stmt("SELECT value FROM meta WHERE key = 'data_key_check'").pluck().get());
  return typeof value === 'string' ? value : null;
}

/** Records the current data key's check value (a store from before it gets one with its first write). */
export function recordKeyCheck(sql: Sql, check: string): void {
  sql.guard(() => sql.stmt(UPSERT).run('data_key_check', check));
}

/** Records where a new data key lives and, for a keychain key, its check value; in the caller's transaction. */
export function recordDataKey(sql: Sql, kind: CredentialStoreKind, check: string | null): void {
  sql.guard(() => {
    sql.stmt(UPSERT).run('credential_store', kind);
    if (check === null) sql.stmt("DELETE FROM meta WHERE key = 'data_key_check'").run();
    else sql.stmt(UPSERT).run('data_key_check', check);
  });
}

/** Forgets where the data key lived and its check value (the key is gone or being deleted). */
export function forgetDataKeyRecord(sql: Sql): void {
  sql.guard(() => sql.stmt("DELETE FROM meta WHERE key IN ('credential_store', 'data_key_check')").run());
}
