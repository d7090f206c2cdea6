import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anySignal } from '../../src/shared/abort.js';

const ABORT_MODULE = fileURLToPath(new URL('../../src/shared/abort.ts', import.meta.url));

/** Runs `body` in a fresh node with --expose-gc (anySignal imported), collecting garbage while it waits. */
function underGc(body: string): string {
  const script = `
    const { anySignal } = await import(${JSON.stringify(ABORT_MODULE)});
    let fired = false;
    ${body}
    signal.addEventListener('abort', () => (fired = true));
    for (let i = 0; i < 6 && !fired; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
    process.stdout.write(String(fired));`;
  return execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('anySignal', () => {
  it('its own time limit fires even when garbage is collected meanwhile (AbortSignal.any with AbortSignal.timeout does not on Node 20)', () => {
    expect(underGc('const signal = anySignal([], 100);')).toBe('true');
  }, 30_000);

  it('a timeout signal given as a source fires through it after a collection', () => {
    expect(underGc('const signal = anySignal([AbortSignal.timeout(100)]);')).toBe('true');
  }, 30_000);

  it('aborts with the first source that aborts, with its reason; at once when one already has', () => {
    const a = new AbortController();
    const b = new AbortController();
    const signal = anySignal([a.signal, undefined, b.signal], 60_000);
    expect(signal.aborted).toBe(false);
    b.abort('second');
    a.abort('first');
    expect(signal.reason).toBe('second');
    expect(anySignal([a.signal]).reason).toBe('first');
  });
});
