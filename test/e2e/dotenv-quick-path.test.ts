/**
 * The quick path of `xtalk token` (dist/quick.cjs) reads `.env` through the same table as every other
 * door (src/core/settings-sources.ts): a cloned repository's `XTALK_*` names are not used, the
 * notice says so once on stderr (also when the run is handed over to the full program for a
 * refresh), and stdout stays the token alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestProvider } from '../provider/provider.js';
import { runCli } from './cli.js';
import { signedInSession } from './offline-session.js';
import { rawDb } from '../helpers/raw-db.js';

let provider: TestProvider | undefined;
afterAll(async () => {
  await provider?.stop();
});

describe('xtalk token in a folder whose .env names XTALK_* settings', () => {
  it('uses none of them, on the quick path and after handing over a refresh; stdout is the token only', async () => {
    const session = await signedInSession('dotenv-quick');
    provider = session.provider;
    // The store mode comes from config.json, not the environment: only the .env could change it.
    const { XTALK_CREDENTIAL_STORE: _mode, ...env } = session.env;
    writeFileSync(join(env.XTALK_HOME!, 'config.json'), JSON.stringify({ credential_store: 'file' }));
    const repo = mkdtempSync(join(tmpdir(), 'xtalk-repo-'));
    writeFileSync(join(repo, '.env'), 'XTALK_CREDENTIAL_STORE=keychain\nXTALK_ID_TOKEN_SIGNING_ALG=HS256\n');
    const notice = `Not using from ${join(repo, '.env')}: XTALK_CREDENTIAL_STORE, XTALK_ID_TOKEN_SIGNING_ALG (a .env may not set xtalk names; only the environment or config.json may).\n`;

    const quick = await runCli(['token'], { env: { ...env, NO_COLOR: '1' }, cwd: repo });
    const before = provider.refreshGrantCount();
    // The refresh the full program runs after the handover checks the ID token with the provider's keys, not HS256.
    rawDb(join(env.XTALK_HOME!, 'xtalk.db')).run('UPDATE access_token SET expires_at = created_at');
    const handedOver = await runCli(['token'], { env: { ...env, NO_COLOR: '1' }, cwd: repo });
    expect(handedOver.code, handedOver.stderr).toBe(0);
    expect(provider.refreshGrantCount() - before).toBe(1);
    expect(handedOver.stdout).toMatch(/^[^\s]+\n$/);
    expect(handedOver.stdout).not.toBe(quick.stdout);
    expect(quick.code, quick.stderr).toBe(0);
    expect(quick.stdout).toMatch(/^[^\s]+\n$/);
    // Said once, on stderr: the quick path holds its stderr, so a handed-over run does not say it twice.
    expect(quick.stderr).toBe(notice);
    expect(handedOver.stderr).toBe(notice);
  });
});
