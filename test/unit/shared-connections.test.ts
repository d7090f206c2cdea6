import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leaseConnection, MAX_SHARED_CONNECTIONS, type ConnectionLease } from '../../src/store/db/shared-connections.js';

const dbPath = () => join(mkdtempSync(join(tmpdir(), 'xtalk-pool-')), 'xtalk.db');

describe('the process-wide connections of the Node API', () => {
  it('lends each connection to one caller at a time, at most MAX_SHARED_CONNECTIONS of them, and closes them all once idle', async () => {
    const path = dbPath();
    const first = await Promise.all(Array.from({ length: MAX_SHARED_CONNECTIONS }, () => leaseConnection(path)));
    expect(new Set(first.map((l) => l.db)).size).toBe(MAX_SHARED_CONNECTIONS);
    let waiter: ConnectionLease | undefined;
    const waiting = leaseConnection(path).then((l) => (waiter = l));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiter).toBeUndefined();
    first[0]!.release();
    await waiting;
    expect(waiter!.db).toBe(first[0]!.db);
    // A second release of the same lease gives nothing back twice.
    first[0]!.release();
    for (const lease of [...first.slice(1), waiter!]) lease.release();
    expect([...first.map((l) => l.db)].every((db) => !db.open)).toBe(true);
    // The next call opens afresh.
    const again = await leaseConnection(path);
    expect(again.db.open).toBe(true);
    expect(first.map((l) => l.db)).not.toContain(again.db);
    again.release();
    expect(again.db.open).toBe(false);
  });

  it('does not hand on a connection left inside a transaction', async () => {
    const path = dbPath();
    const held = await leaseConnection(path);
    const broken = await leaseConnection(path);
    broken.db.exec('BEGIN');
    broken.release();
    expect(broken.db.open).toBe(false);
    const next = await leaseConnection(path);
    expect(next.db).not.toBe(broken.db);
    expect(next.db.inTransaction).toBe(false);
    next.release();
    held.release();
    expect(held.db.open).toBe(false);
  });
});
