import type * as NodeUrl from 'node:url';

/**
 * The file a module runs from, given its `import.meta.url`: a file: URL in an ES module, the
 * bundle's own path in the CommonJS bundles bin/xtalk.cjs runs (scripts/build.mjs defines
 * `import.meta.url` as `__filename` there, which spares every start loading node:url).
 */
export function moduleFile(url: string): string {
  return url.startsWith('file:') ? (process.getBuiltinModule('node:url') as typeof NodeUrl).fileURLToPath(url) : url;
}
