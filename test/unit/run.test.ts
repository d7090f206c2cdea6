import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openRun } from '../../src/auth/run.js';
import type { StoreRequest } from '../../src/core/context.js';
import { createTestContext } from '../fakes/context.js';

/** A test Context whose openStore counts what it opens and closes. */
function countingContext(env: Record<string, string> = {}) {
  const ctx = createTestContext({ env });
  const seen = { opened: [] as StoreRequest[], closed: 0 };
  const open = ctx.openStore;
  ctx.openStore = (request) => {
    seen.opened.push(request);
    const store = open(request);
    const close = store.close.bind(store);
    store.close = () => {
      seen.closed++;
      close();
    };
    return store;
  };
  return { ctx, seen };
}

describe('a run (src/auth/run.ts)', () => {
  it('opens nothing until asked, then the store once per run, closed by close()', () => {
    const { ctx, seen } = countingContext();
    const run = openRun(ctx, { ui: undefined, warn: () => {}, writing: true });
    expect(seen.opened).toHaveLength(0);
    expect(run.storeExists()).toBe(false);
    const store = run.store();
    expect(run.store()).toBe(store);
    expect(seen.opened).toHaveLength(1);
    expect(seen.opened[0]).toMatchObject({ paths: run.paths(), mode: 'file', writing: true });
    expect(run.storeExists()).toBe(true);
    expect(existsSync(run.paths().dbPath)).toBe(true);
    run.close();
    expect(seen.closed).toBe(1);
  });

  it('resolves the configuration once, from the flags over the environment; paths() without it', () => {
    const { ctx } = countingContext({ XTALK_ISSUER: 'https://env.example' });
    const run = openRun(ctx, { ui: undefined, warn: () => {}, flags: { issuer: 'https://flag.example' } });
    expect(run.paths().dbPath).toContain(ctx.home);
    expect(run.config().issuer).toBe('https://flag.example');
    expect(run.config()).toBe(run.config());
    expect(run.config().paths).toEqual(run.paths());
    run.close();
  });
});
