type Payload = Record<string, unknown>;

/**
 * A per-provider in-memory store. oidc-provider's own one logs a warning, and the STACK-NOTES
 * measured it shared between providers in one process.
 */
export function createTestAdapter() {
  const store = new Map<string, { payload: Payload; expiresAt: number }>();
  const live = (key: string): Payload | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (model: string, field: string, value: unknown): Payload | undefined => {
    for (const key of store.keys()) {
      const payload = key.startsWith(`${model}:`) ? live(key) : undefined;
      if (payload && payload[field] === value) return structuredClone(payload);
    }
    return undefined;
  };

  return (model: string) => ({
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
      store.set(`${model}:${id}`, { payload: structuredClone(payload), expiresAt });
    },
    async find(id: string) {
      const payload = live(`${model}:${id}`);
      return payload && structuredClone(payload);
    },
    findByUid: async (uid: string) => findBy(model, 'uid', uid),
    findByUserCode: async (userCode: string) => findBy(model, 'userCode', userCode),
    async consume(id: string) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId: string) {
      for (const [key, { payload }] of store) if (payload.grantId === grantId) store.delete(key);
    },
  });
}
