import type { Sql } from './sql.js';

/** The current-account pointer: `meta.current_user_id`. */

export function currentUserId(sql: Sql): number | undefined {
  const value = sql.guard(() => sql.stmt("SELECT value FROM meta WHERE key = 'current_user_id'").pluck().get());
  return value === undefined ? undefined : Number(value);
}

/** Points at `userId`, or at nobody; runs inside the caller's guard (and transaction, where it has one). */
export function pointCurrentAt(sql: Sql, userId: number | null): void {
  if (userId === null) sql.stmt("DELETE FROM meta WHERE key = 'current_user_id'").run();
  else {
    sql
      .stmt("INSERT INTO meta (key, value) VALUES ('current_user_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .run(String(userId));
  }
}
