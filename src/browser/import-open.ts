/**
 * Loads the `open` package (ES modules only). Its own module, because the CommonJS bundle of the CLI
 * (dist/main.cjs, run by bin/xtalk.cjs through node:vm, where import() has no module loader) replaces
 * it with dist/import-open.cjs, a file Node loads itself and whose import() therefore works
 * (scripts/build.mjs).
 */
export const importOpen = (): Promise<typeof import('open')> => import('open');
