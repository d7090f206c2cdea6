import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';

/** Every token value xtalk holds for each account of the file store in `home`, read through the store. */
export async function heldTokens(home: string): Promise<string[]> {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    const out: string[] = [];
    for (const a of store.listAccounts()) {
      const rt = await store.refreshToken(a.id);
      if (rt) out.push(rt.refreshToken);
      for (const at of await store.unexpiredAccessTokens(a.id, Date.now())) out.push(at.accessToken);
    }
    return out;
  } finally {
    store.close();
  }
}
