import { StoreError } from '../../errors.js';
import { guardSqlite, type Db, type Statement } from './db.js';

/**
 * One open store's connection with its prepared-statement cache, and every call guarded (SQLite's
 * errors become StoreErrors naming the file). The table modules (users.ts, current-account.ts,
 * token-tables.ts, meta-records.ts) take this.
 *
 * A store opened for reading starts on a read-only connection (see openForReading) and switches to
 * the read-write one when the first write comes: {@link Sql.db}, or a statement that writes. From
 * then on reads use the read-write connection too, so they see its writes, uncommitted ones included.
 */
export class Sql {
  readonly #statements = new Map<string, Statement>();
  #current: Db;
  #writer: Db | undefined;
  readonly #openWriter: (() => Db) | undefined;

  /** `connection` is read-write, or read-only with `openWriter` opening the read-write one. */
  constructor(
    connection: Db,
    readonly dbPath: string,
    openWriter?: () => Db,
  ) {
    this.#current = connection;
    if (connection.readonly) this.#openWriter = openWriter;
    else this.#writer = connection;
  }

  /** The read-write connection, opened on first use (which also makes it the one reads use). */
  get db(): Db {
    if (!this.#writer) {
      if (!this.#openWriter) throw new StoreError('INTERNAL', 'internal error: the store was opened read-only');
      const writer = this.#openWriter();
      this.#current.close();
      this.#statements.clear();
      this.#current = this.#writer = writer;
    }
    return this.#writer;
  }

  /** The connection reads use: the read-only one until a write opened the read-write one. */
  get reader(): Db {
    return this.#current;
  }

  /** A cached statement on the connection reads use; one that writes is prepared on the read-write one. */
  stmt(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#current.prepare(sql);
      if (!statement.readonly && !this.#writer) statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  guard<T>(fn: () => T): T {
    return guardSqlite(this.dbPath, fn);
  }

  close(): void {
    if (this.#current.open) this.#current.close();
  }
}
