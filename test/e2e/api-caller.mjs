// A JavaScript program using the built Node API, run as its own process by the e2e tests: prints
// the token getAccessToken() returns, or the error's code and message on stderr with its exit code.
// `node api-caller.mjs esm|cjs [minTtl]`
import { createRequire } from 'node:module';

const [format = 'esm', minTtl] = process.argv.slice(2);
const api = format === 'cjs' ? createRequire(import.meta.url)('../../dist/index.cjs') : await import('../../dist/index.js');
try {
  const token = await api.getAccessToken(minTtl === undefined ? {} : { minTtl: Number(minTtl) });
  process.stdout.write(`${token}\n`);
} catch (e) {
  process.stderr.write(`${e.code}: ${e.message}\n`);
  process.exitCode = e.exitCode ?? 1;
}
