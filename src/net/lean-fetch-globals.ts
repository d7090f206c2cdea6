// Injected by scripts/build.mjs into dist/quick-net.cjs only: every `fetch`, `Headers`, `Response`
// and `Request` in that bundle (ours and openid-client's) is the lean one (see lean-fetch.ts).
export { leanFetch as fetch, LeanHeaders as Headers, LeanRequest as Request, LeanResponse as Response } from './lean-fetch.js';
