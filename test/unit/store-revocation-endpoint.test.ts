import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { APPLICATION_ID } from '../../src/store/db/db.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

describe('user.revocation_endpoint', () => {
  it('an account stored by a schema-1 xtalk migrates with no stored endpoint (NULL), keeping its tokens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-mig-'));
    const dbPath = join(dir, 'xtalk.db');
    const v1 = new Database(dbPath);
    v1.exec(`CREATE TABLE user (id INTEGER PRIMARY KEY AUTOINCREMENT, issuer TEXT NOT NULL, sub TEXT NOT NULL, username TEXT, email TEXT,
        claims TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(claims)), client_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (issuer, sub));
      CREATE TABLE refresh_token (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE REFERENCES user(id) ON DELETE CASCADE, token TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE access_token (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE, refresh_token_id INTEGER REFERENCES refresh_token(id) ON DELETE CASCADE,
        token TEXT NOT NULL, token_type TEXT NOT NULL, scope TEXT, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO user (issuer, sub, username, claims, client_id, created_at, updated_at) VALUES ('https://a.example', 's1', 'old', '{}', 'c', 'x', 'x');
      INSERT INTO refresh_token (user_id, token, created_at, updated_at) VALUES (1, 'v1.x', 'x', 'x');`);
    v1.pragma(`application_id = ${APPLICATION_ID}`);
    v1.pragma('user_version = 1');
    v1.close();

    const store = openStore({ dbPath, keyFilePath: join(dir, 'xtalk.key'), mode: 'file', warn: () => {} });
    try {
      const [account] = store.listAccounts();
      expect(account).toMatchObject({ username: 'old', revocationEndpoint: null });
      expect(store.hasRefreshToken(account!.id)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('a login stores the endpoint it was given, and a later login replaces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-mig-'));
    const store = openStore({ dbPath: join(dir, 'xtalk.db'), keyFilePath: join(dir, 'xtalk.key'), mode: 'file', warn: () => {} });
    try {
      const identity = { issuer: 'https://a.example', sub: 's', username: 'u', email: null, claims: {}, clientId: 'c' };
      const grant = { accessToken: 'at', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 60_000, refreshToken: 'rt' };
      const first = await store.saveLogin({ ...identity, revocationEndpoint: 'https://a.example/revoke' }, grant, Date.now());
      expect(first.revocationEndpoint).toBe('https://a.example/revoke');
      const second = await store.saveLogin({ ...identity, revocationEndpoint: null }, grant, Date.now());
      expect(second.revocationEndpoint).toBeNull();
    } finally {
      store.close();
    }
  });
});
