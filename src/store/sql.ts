import { guardSqlite, type Db, type Statement } from './db.js';

/**
 * One open store's connection with its prepared-statement cache, and every call guarded (SQLite's
 * errors become StoreErrors naming the file). The table modules (users.ts, current-account.ts,
 * token-tables.ts, meta-records.ts) take this.
 */
export class Sql {
  readonly #statements = new Map<string, Statement>();
  constructor(
    readonly db: Db,
    readonly dbPath: string,
  ) {}

  stmt(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  guard<T>(fn: () => T): T {
    return guardSqlite(this.dbPath, fn);
  }
}
