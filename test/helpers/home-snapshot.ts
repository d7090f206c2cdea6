import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every file under `dir` with a hash of its bytes and its mode: equal snapshots before and after a
 * command mean it stored, overwrote, chmod-ed and left behind nothing (no lock, no -wal, no key).
 */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else
        out[relative(dir, path)] =
          `${(statSync(path).mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

/**
 * Like {@link snapshotDir}, but the database by the rows of its session tables (user,
 * refresh_token, access_token) instead of its bytes: for a failed refresh, which records its error
 * in the `meta` table so that processes waiting for it report the same one.
 */
export function snapshotSession(dir: string): Record<string, unknown> {
  const files = Object.fromEntries(Object.entries(snapshotDir(dir)).filter(([name]) => !/^xtalk\.db(-wal|-shm)?$/.test(name)));
  const db = new Database(join(dir, 'xtalk.db'), { readonly: true });
  try {
    const rows = Object.fromEntries(
      ['user', 'refresh_token', 'access_token'].map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY id`).all()]),
    );
    return { files, rows };
  } finally {
    db.close();
  }
}
