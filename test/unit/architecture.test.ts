import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importsOf, readImportGraph, type ImportEdge } from '../helpers/import-graph.js';

/**
 * The floor plan of src/ (docs/architecture.md, docs/development.md): an import goes to a lower floor, or stays inside
 * its folder. `cli | quick → commands → doctor → auth (use cases) → adapters (oidc, store, loopback,
 * browser, net) → config, output, shared → the core: core/ (the records, the ports, the Context
 * type, one owner per trust rule), errors and hints (the words for each error code)`. cli and quick
 * share a floor and do not import each other. Adapters do not import each other; config, output and
 * shared import only each other and the core; the core imports nothing else of ours. The composition
 * roots wire everything together and nothing imports them. No file is an exception: an adapter
 * implements a port by importing it down from core/.
 */
const FLOORS: Record<string, number> = {
  cli: 6,
  // The quick path (issue 22): token and whoami without commander, from the commands' own option
  // tables; the other way into the commands beside cli/, so the two do not import each other.
  quick: 6,
  commands: 5,
  doctor: 4,
  auth: 3,
  oidc: 2,
  store: 2,
  loopback: 2,
  browser: 2,
  net: 2,
  config: 1,
  output: 1,
  shared: 1,
  'errors.ts': 0,
  'hints.ts': 0,
  'hint-words.ts': 0,
  'hint-reasons.ts': 0,
  // The records (session, provider), the ports, the Context type, and one owner per trust rule (where
  // a bearer may go, what a .env may set, what text may reach a terminal, who may use the loopback
  // listener). Types, pure functions and tables.
  core: 0,
};
/** Floors whose folders may import one another (circles are still refused, below). */
const SHARED_FLOORS = new Set([0, 1]);
/** main.ts, quick.ts and quick-net.ts (the CLI), index.ts and api/ (the Node API), the real machine's Context. */
const ROOTS = new Set(['main.ts', 'quick.ts', 'quick-net.ts', 'index.ts', 'api', 'system-context.ts', 'system-services.ts']);
/** The files of core/ that hold only types: what the use cases and the adapters speak in. */
const TYPE_FILES = ['core/ports.ts', 'core/context.ts', 'core/session-records.ts', 'core/provider-records.ts'];

/** The unit an import is judged by: a top-level folder of src/, or a top-level file. */
function unitOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.indexOf('/')) : path;
}

/** Every import of `edges` that runs against the floor plan, as `from -> to: why`. */
function floorViolations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const e of edges) {
    const from = unitOf(e.from);
    const to = unitOf(e.to);
    const say = (why: string) => found.push(`${e.from} -> ${e.to}: ${why}`);
    if (ROOTS.has(to) && !ROOTS.has(from)) say('nothing imports a composition root');
    else if (from === to || ROOTS.has(from)) continue;
    else if (FLOORS[from] === undefined || FLOORS[to] === undefined)
      say(`${FLOORS[from] === undefined ? from : to} is not on the floor plan`);
    else if (FLOORS[from]! < FLOORS[to]!) say(`${from} is below ${to}`);
    else if (FLOORS[from] === FLOORS[to] && !SHARED_FLOORS.has(FLOORS[from]!))
      say(`${from} and ${to} are on the same floor and do not import each other`);
  }
  return found;
}

/** The imports of core/ that leave it for anything but errors.ts and hints.ts. */
function coreLeaks(edges: readonly ImportEdge[]): string[] {
  const inCore = (path: string) => unitOf(path) === 'core' || ['errors.ts', 'hints.ts', 'hint-words.ts', 'hint-reasons.ts'].includes(path);
  return edges.filter((e) => unitOf(e.from) === 'core' && !inCore(e.to)).map((e) => `${e.from} -> ${e.to}`);
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly, dynamic: false });

describe('the floor plan of src/', () => {
  const graph = readImportGraph(SRC);

  it('reads the imports of src/', () => {
    expect(graph.length).toBeGreaterThan(200);
    // A dynamic import counts: the full CLI is loaded that way.
    expect(graph).toContainEqual({ from: 'main.ts', to: 'cli/run.ts', typeOnly: false, dynamic: true });
  });

  it('has no import circle', () => {
    expect(findCycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('has no import against the floor plan', () => {
    expect(floorViolations(graph)).toEqual([]);
  });

  it('keeps the core to itself: it imports nothing of ours outside core/, errors.ts and hints.ts', () => {
    expect(coreLeaks(graph)).toEqual([]);
    // core/ holds the records, the ports and the Context, so every adapter imports them from there.
    for (const file of TYPE_FILES) expect(graph.some((e) => e.to === file)).toBe(true);
  });

  it('keeps the records, the ports and the Context free of code: types only, from core/', () => {
    const fine = (e: ImportEdge) => e.typeOnly && unitOf(e.to) === 'core';
    expect(graph.filter((e) => TYPE_FILES.includes(e.from) && !fine(e))).toEqual([]);
  });
});

describe('the structure check itself', () => {
  it('finds a circle, also through type-only and dynamic imports', () => {
    expect(findCycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts', true), edge('c.ts', 'a.ts')])).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
    ]);
    const parsed = [
      ...importsOf('cli/x.ts', "const m = await import('../commands/y.js');"),
      ...importsOf('commands/y.ts', "import type { X } from '../cli/x.js';"),
    ];
    expect(parsed).toEqual([
      { from: 'cli/x.ts', to: 'commands/y.ts', typeOnly: false, dynamic: true },
      { from: 'commands/y.ts', to: 'cli/x.ts', typeOnly: true, dynamic: false },
    ]);
    expect(findCycles(parsed)).toHaveLength(1);
    expect(findCycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts')])).toEqual([]);
  });

  it('parses export-from, `type` bindings and leaves packages out', () => {
    const text = [
      "import { a, type B } from './a.js';",
      "import { type C } from './c.js';",
      "export { d } from '../d.js';",
      "export type { E } from './e.js';",
      "import { readFileSync } from 'node:fs';",
      "import chalk from 'chalk';",
    ].join('\n');
    expect(importsOf('auth/x.ts', text)).toEqual([
      { from: 'auth/x.ts', to: 'auth/a.ts', typeOnly: false, dynamic: false },
      { from: 'auth/x.ts', to: 'auth/c.ts', typeOnly: true, dynamic: false },
      { from: 'auth/x.ts', to: 'd.ts', typeOnly: false, dynamic: false },
      { from: 'auth/x.ts', to: 'auth/e.ts', typeOnly: true, dynamic: false },
    ]);
  });

  it('refuses imports that run up the floors, across adapters, or into a root', () => {
    expect(floorViolations([edge('commands/exec.ts', 'cli/program.ts', true)])).toEqual([
      'commands/exec.ts -> cli/program.ts: commands is below cli',
    ]);
    expect(floorViolations([edge('oidc/discovery.ts', 'store/accounts.ts', true)])).toEqual([
      'oidc/discovery.ts -> store/accounts.ts: oidc and store are on the same floor and do not import each other',
    ]);
    expect(floorViolations([edge('config/x.ts', 'store/db.ts')])).toEqual(['config/x.ts -> store/db.ts: config is below store']);
    expect(floorViolations([edge('auth/x.ts', 'system-context.ts')])).toEqual([
      'auth/x.ts -> system-context.ts: nothing imports a composition root',
    ]);
    expect(floorViolations([edge('magic/x.ts', 'errors.ts')])).toEqual(['magic/x.ts -> errors.ts: magic is not on the floor plan']);
  });

  it('makes no exception for ports or the Context: an adapter or the core importing up is refused, even type-only', () => {
    expect(floorViolations([edge('store/x.ts', 'auth/ports.ts', true)])).toEqual(['store/x.ts -> auth/ports.ts: store is below auth']);
    expect(floorViolations([edge('browser/open-browser.ts', 'auth/ports.ts', true)])).toEqual([
      'browser/open-browser.ts -> auth/ports.ts: browser is below auth',
    ]);
    expect(floorViolations([edge('output/ui.ts', 'auth/ports.ts', true)])).toEqual(['output/ui.ts -> auth/ports.ts: output is below auth']);
    // A file at the top of src/ is judged as itself: context.ts is not counted as auth.
    expect(floorViolations([edge('auth/x.ts', 'context.ts', true)])).toEqual([
      'auth/x.ts -> context.ts: context.ts is not on the floor plan',
    ]);
    expect(floorViolations([edge('core/ports.ts', 'store/types.ts', true)])).toEqual([
      'core/ports.ts -> store/types.ts: core is below store',
    ]);
    expect(floorViolations([edge('core/oauth-terms.ts', 'shared/abort.ts')])).toEqual([
      'core/oauth-terms.ts -> shared/abort.ts: core is below shared',
    ]);
  });

  it('finds what the core imports from outside it', () => {
    const edges = [
      edge('core/ports.ts', 'core/session-records.ts', true),
      edge('core/bearer-destination.ts', 'errors.ts'),
      edge('core/x.ts', 'hints.ts'),
      edge('core/context.ts', 'config/paths.ts', true),
      edge('core/context.ts', 'store/index.ts', true),
      edge('store/keys/keychain/system-keychain.ts', 'core/ports.ts', true),
    ];
    expect(coreLeaks(edges)).toEqual(['core/context.ts -> config/paths.ts', 'core/context.ts -> store/index.ts']);
  });

  it('accepts imports down the floors (the ports and records from core/), inside a folder, and from the roots', () => {
    const fine = [
      edge('cli/run.ts', 'commands/token.ts'),
      edge('commands/token.ts', 'auth/refresh/fresh-token.ts'),
      edge('auth/refresh/fresh-token.ts', 'auth/provider-for.ts'),
      edge('auth/sign-in/redirect.ts', 'loopback/server.ts'),
      edge('auth/sign-in/sign-in.ts', 'core/context.ts', true),
      edge('store/accounts.ts', 'core/ports.ts', true),
      edge('store/accounts.ts', 'core/session-records.ts', true),
      edge('store/keys/data-key.ts', 'store/db/meta-records.ts'),
      edge('oidc/client.ts', 'core/provider-records.ts', true),
      edge('output/ui.ts', 'core/ports.ts', true),
      edge('config/paths.ts', 'core/context.ts', true),
      edge('config/resolve.ts', 'output/ui.ts'),
      edge('core/bearer-destination.ts', 'errors.ts'),
      edge('errors.ts', 'core/x.ts'),
      edge('main.ts', 'cli/run.ts'),
      edge('system-context.ts', 'store/index.ts'),
    ];
    expect(floorViolations(fine)).toEqual([]);
  });
});
