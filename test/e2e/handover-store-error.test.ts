import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rawDb } from '../helpers/raw-db.js';
import type { TestProvider } from '../provider/provider.js';
import { runCli } from './cli.js';
import { signedInSession } from './offline-session.js';

let provider: TestProvider | undefined;
afterAll(async () => {
  await provider?.stop();
});

describe('a SQLite error in a run the quick path handed over', () => {
  // The quick bundle opens the store first, so the SQLite addon throws the quick bundle's SqliteError
  // class; the full program, which runs the refresh, has its own copy of better-sqlite3's JavaScript.
  it('is reported as a store error naming the database, not as "a bug in xtalk"', async () => {
    const session = await signedInSession('handover');
    provider = session.provider;
    const dbPath = join(session.env.XTALK_HOME!, 'xtalk.db');
    // Storing the refreshed token fails inside SQLite, as a busy or broken database would.
    rawDb(dbPath).run(
      "CREATE TRIGGER refuse_new_token BEFORE INSERT ON access_token BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    const before = provider.refreshGrantCount();
    const result = await runCli(['token', '--min-ttl', '100000'], { env: { ...session.env, NO_COLOR: '1' } });
    // The full program took the refresh over, and its rehearsal of storing the answer met the failure
    // before any grant was sent: the session is as it was.
    expect(provider.refreshGrantCount() - before).toBe(0);
    expect(result.stderr).not.toMatch(/^xtalk-quick/m);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/Unexpected error|bug in xtalk|^\s+at /m);
    expect(result.stderr).toContain(`✗ database error in ${dbPath}: refused by the test\n`);
    expect(result.code).toBe(1);
  });
});
