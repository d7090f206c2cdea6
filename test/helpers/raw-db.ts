import Database from 'better-sqlite3';

/**
 * SQL on an xtalk database file through a connection of its own, for tests that count rows or
 * tamper with the ciphertext the store writes (the store offers no SQL). Each call opens and closes
 * the file, so it never holds a lock the store under test would wait for.
 */
export function rawDb(dbPath: string) {
  const use = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(dbPath, { fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    /** The first column of the first row. */
    value: (sql: string, ...params: unknown[]): unknown =>
      use((db) =>
        db
          .prepare(sql)
          .pluck()
          .get(...params),
      ),
    /** The first column of every row. */
    values: (sql: string, ...params: unknown[]): unknown[] =>
      use((db) =>
        db
          .prepare(sql)
          .pluck()
          .all(...params),
      ),
    run: (sql: string, ...params: unknown[]): void => void use((db) => db.prepare(sql).run(...params)),
  };
}
