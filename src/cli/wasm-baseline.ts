import { setFlagsFromString } from 'node:v8';

/**
 * Keeps WebAssembly at V8's baseline compiler (Liftoff) for the rest of this process. Node's fetch
 * (undici) compiles its HTTP parser, llhttp, to WebAssembly on its first connection, and V8 then
 * compiles the whole module again with its optimising compiler as platform tasks; before a process
 * exits, Node waits for every pending platform task. So every run that fetched anything (refresh,
 * login, logout, doctor, `token` when it refreshes) stayed alive 100–500 ms after its work was done,
 * idle (issue 26: most of `xtalk refresh`'s own time). A CLI run parses a handful of small answers,
 * for which baseline code is plenty, and the optimising compile never starts. (dist/quick-net.cjs,
 * the refresh's bundle, does without undici, so without the flag, unless a proxy is set: see src/quick-net.ts.)
 *
 * The CLI only: the flag is process-wide, and the Node API runs inside someone else's process.
 * Must run before the first fetch (a module compiled before keeps its tier-up). bin/xtalk.cjs sets
 * the same flag before it compiles a bundle, whose V8 code cache must be made under the flags it is
 * checked under (test/e2e/hot-path.test.ts fails when the two differ); and, in a run that is going
 * to fetch, it loads fetch's built-in modules first, while Node's own code cache for them is valid.
 */
export function keepWasmAtBaseline(): void {
  setFlagsFromString('--liftoff-only');
}
