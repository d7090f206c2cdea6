// A program calling the built Node API under descriptor pressure, run by test/e2e/api-descriptors.test.ts
// (inside `ulimit -n 1024`). Prints one JSON line on stdout and ends by itself (no process.exit).
//   node api-burst.mjs burst <n>   n concurrent getAccessToken() calls
//   node api-burst.mjs emfile      getAccessToken() with every descriptor taken, then again with them free
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';

const api = await import('../../dist/index.js');
const [mode, count = '1000'] = process.argv.slice(2);

/** The descriptors of this process that point at the xtalk database or its -wal / -shm files. */
function storeDescriptors() {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => /xtalk\.db(-wal|-shm)?$/.test(target));
}

const describe = (e) => ({
  xtalk: e instanceof api.XtalkError,
  code: e?.code,
  name: e?.name,
  message: String(e?.message ?? e),
  hint: e?.hint,
});

if (mode === 'burst') {
  const results = await Promise.allSettled(Array.from({ length: Number(count) }, () => api.getAccessToken()));
  const tokens = [...new Set(results.filter((r) => r.status === 'fulfilled').map((r) => r.value))];
  const errors = results.filter((r) => r.status === 'rejected').map((r) => describe(r.reason));
  process.stdout.write(
    `${JSON.stringify({ ok: results.length - errors.length, tokens, errors: errors.slice(0, 5), failed: errors.length, storeDescriptors: storeDescriptors() })}\n`,
  );
} else if (mode === 'emfile') {
  const held = [];
  try {
    for (;;) held.push(openSync('/dev/null', 'r'));
  } catch (e) {
    if (e.code !== 'EMFILE') throw e;
  }
  let starved;
  try {
    starved = { token: await api.getAccessToken() };
  } catch (e) {
    starved = describe(e);
  }
  for (const fd of held) closeSync(fd);
  let after;
  try {
    after = { token: await api.getAccessToken() };
  } catch (e) {
    after = describe(e);
  }
  process.stdout.write(`${JSON.stringify({ held: held.length, starved, after, storeDescriptors: storeDescriptors() })}\n`);
}
