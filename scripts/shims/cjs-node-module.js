// For dist/quick.cjs, in place of node:module (whose loading pulls in parts of the ES-module loader,
// ≈ 1 ms): `createRequire(import.meta.url)` there is the bundle's own CommonJS `require`, which
// resolves from the same folder (dist/).
export const createRequire = () => require;
