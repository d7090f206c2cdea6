import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { describeAttack, generateAttack, REASONS, type Attack, type AttackKind } from '../helpers/loopback-attacks.js';
import { createRng, fuzzSeed } from '../helpers/prng.js';
import {
  isRefused,
  listeningAddresses,
  openSlowClient,
  sendHttp,
  sendRaw,
  SLOW_KINDS,
  type Reply,
  type SlowClient,
} from '../helpers/raw-http.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { waitFor } from '../helpers/wait-for.js';

const WARM_UP_REQUESTS = 2_000;
const MEASURED_REQUESTS = 10_000;
const IN_FLIGHT = 50;
const SLOW_CLIENTS = 40;
// The listener answers a stalled request after 10 s (checked every second); some slack for a busy machine.
const SLOW_CLIENT_LIMIT_MS = 15_000;
const HEAP_GROWTH_LIMIT = 32 * 1024 * 1024;
const RSS_GROWTH_LIMIT = 128 * 1024 * 1024;
const STATE_KINDS: ReadonlySet<AttackKind> = new Set(['missing-state', 'duplicate-state', 'wrong-state', 'error-without-state']);

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider();
});
afterAll(async () => {
  await provider?.stop();
});

describe('the loopback listener under attack during a pending login', () => {
  it('answers every hostile request with a 4xx and its reason, calls no token endpoint, then completes the genuine login', {
    timeout: 120_000,
  }, async () => {
    const seed = fuzzSeed();
    try {
      await fuzzPendingLogin(seed);
    } catch (e) {
      console.error(`loopback fuzz failed; reproduce with XTALK_FUZZ_SEED=${seed}`);
      throw e;
    }
  });
});

async function fuzzPendingLogin(seed: number): Promise<void> {
  const rng = createRng(seed);
  const ctx = createTestContext({ env: { XTALK_ISSUER: provider.issuer, XTALK_CLIENT_ID: provider.publicClient.clientId } });
  let settled = false;
  const done = run(['login', '--no-browser', '--timeout', '120'], ctx).finally(() => (settled = true));
  const authUrl = await waitFor(() => /Open this URL to sign in:\n(\S+)/.exec(ctx.stderr.text)?.[1]);
  const state = new URL(authUrl).searchParams.get('state')!;
  const redirect = new URL(new URL(authUrl).searchParams.get('redirect_uri')!);
  const port = Number(redirect.port);
  expect(redirect.hostname).toBe('127.0.0.1');

  // Reachable on loopback only: the kernel's table of listening sockets, no traffic to other addresses.
  const bound = listeningAddresses(port);
  if (bound) expect(bound).toEqual(['127.0.0.1']);
  else console.warn('no /proc/net/tcp here: the loopback-only binding is not checked');

  const grantsBefore = provider.grants.length;
  const grantErrorsBefore = provider.grantErrors.length;

  // A few dozen clients that never finish their request, replaced as the listener drops them.
  const live = new Set<SlowClient>();
  const slowEnded: Array<{ kind: string; status: number | undefined; lifetime: number; closedAt: number }> = [];
  let holdSlowClients = true;
  let slowOpened = 0;
  const openSlow = (): void => {
    const client = openSlowClient(port, SLOW_KINDS[slowOpened++ % SLOW_KINDS.length]!, state);
    live.add(client);
    void client.ended.then((r) => {
      live.delete(client);
      slowEnded.push({ kind: client.kind, status: r.status, lifetime: r.closedAt - client.openedAt, closedAt: r.closedAt });
      if (holdSlowClients) openSlow();
    });
  };
  for (let i = 0; i < SLOW_CLIENTS; i++) openSlow();

  const stats = new Map<string, number>();
  const failures: string[] = [];
  let sent = 0;
  const fire = async (): Promise<void> => {
    const attack = generateAttack(rng, { port, state });
    const index = sent++;
    const reply = await send(port, attack);
    const verdict = judge(attack, reply);
    const key = `${attack.kind} ${reply.status ?? 'none'}`;
    stats.set(key, (stats.get(key) ?? 0) + 1);
    if (verdict && failures.length < 20) failures.push(`#${index} ${describeAttack(attack)} → ${verdict}`);
  };

  const gc = exposeGc();
  const startedAt = Date.now();
  await inParallel(WARM_UP_REQUESTS, IN_FLIGHT, fire);
  gc?.();
  const heapBefore = process.memoryUsage();
  await inParallel(MEASURED_REQUESTS, IN_FLIGHT, fire);
  gc?.();
  const heapAfter = process.memoryUsage();
  const fuzzMs = Date.now() - startedAt;

  // Let the first generation of slow clients run into the listener's limit before the real callback.
  await waitFor(() => (slowEnded.length >= SLOW_CLIENTS ? true : undefined), SLOW_CLIENT_LIMIT_MS + 5_000);
  const stillOpen = live.size;

  expect(failures, `seed ${seed}`).toEqual([]);
  expect(sent).toBe(WARM_UP_REQUESTS + MEASURED_REQUESTS);
  expect(settled, 'the login must still be waiting for its callback').toBe(false);
  expect(provider.grants.length, 'token endpoint calls during the attack').toBe(grantsBefore);
  expect(provider.grantErrors.length, 'failed token endpoint calls during the attack').toBe(grantErrorsBefore);
  for (const s of slowEnded) {
    expect(s.status, `slow client ${s.kind}`).toBe(408);
    expect(s.lifetime, `slow client ${s.kind} held the listener`).toBeLessThanOrEqual(SLOW_CLIENT_LIMIT_MS);
  }
  if (gc) expect(heapAfter.heapUsed - heapBefore.heapUsed, 'heap growth over 10,000 requests').toBeLessThan(HEAP_GROWTH_LIMIT);
  else expect(heapAfter.rss - heapBefore.rss, 'rss growth over 10,000 requests').toBeLessThan(RSS_GROWTH_LIMIT);

  // The genuine browser comes back while slow clients are still connected.
  holdSlowClients = false;
  const callback = await signInWithHttp(authUrl, { login: 'fuzz-victim', deliverCallback: false });
  const sentAt = Date.now();
  const genuine = await sendHttp(port, { method: 'GET', path: `${callback.pathname}${callback.search}`, host: `127.0.0.1:${port}` });
  const answeredAt = Date.now();
  expect(genuine.status).toBe(200);
  expect(genuine.body).toContain('Signed in as fuzz-victim');
  while (!(await isRefused(port))) {
    // A bound with room for a loaded machine; a listener that stays open still fails it.
    expect(Date.now() - answeredAt, 'the listener still accepts connections after the callback').toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 10));
  }
  const refusedAfterMs = Date.now() - sentAt;
  expect(refusedAfterMs, 'from the callback request to a refused connection').toBeLessThan(10_000);

  expect(await done).toBe(0);
  expect(ctx.stderr.text).toContain(`Logged in to ${provider.issuer} as fuzz-victim`);
  expect(ctx.stderr.text).not.toContain('✗');
  expect(provider.grants.length).toBe(grantsBefore + 1);
  expect(provider.grantErrors.length).toBe(grantErrorsBefore);

  // close() drops the stalled connections too.
  const lastSlow = await Promise.all([...live].map((c) => c.ended));
  for (const s of lastSlow) expect(s.closedAt - answeredAt).toBeLessThan(2000);

  const who = createTestContext({ home: ctx.home });
  expect(await run(['status', '--json'], who)).toBe(0);
  expect((JSON.parse(who.stdout.text) as Array<{ sub: string }>).map((a) => a.sub)).toEqual(['fuzz-victim']);

  console.log(
    `loopback fuzz seed ${seed}: ${sent} requests (${IN_FLIGHT} in flight) in ${fuzzMs} ms, ${slowOpened} slow clients ` +
      `(${stillOpen} open at the callback), heap ${mb(heapAfter.heapUsed - heapBefore.heapUsed)} (gc ${gc ? 'yes' : 'no'}), ` +
      `rss ${mb(heapAfter.rss - heapBefore.rss)}, callback → refused ${refusedAfterMs} ms, listening on ${bound?.join(', ') ?? '?'}\n` +
      [...stats]
        .sort()
        .map(([k, n]) => `  ${k}: ${n}`)
        .join('\n'),
  );
}

function send(port: number, attack: Attack): Promise<Reply> {
  const r = attack.request;
  return r.via === 'http' ? sendHttp(port, r) : sendRaw(port, r.bytes, { head: r.head ?? false });
}

/** Undefined when the reply is a refusal the attack allows, with the page giving its reason. */
function judge(attack: Attack, reply: Reply): string | undefined {
  const { status } = reply;
  if (status === undefined) return `no answer (${reply.timedOut ? 'timed out' : (reply.error ?? 'closed')})`;
  if (status < 400 || status > 499) return `status ${status}`;
  if (!attack.expect.includes(status)) return `status ${status}, expected ${attack.expect.join(' or ')}`;
  if (attack.request.via === 'http' && attack.request.method === 'HEAD') return undefined;
  const reason = STATE_KINDS.has(attack.kind) ? /does not belong to the sign-in/ : REASONS[status];
  if (!reason?.test(reply.body)) return `status ${status} without its reason: ${reply.body.slice(0, 200)}`;
  return undefined;
}

async function inParallel(total: number, width: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (started < total) {
        started++;
        await task();
      }
    }),
  );
}

/** `global.gc` when node runs with --expose-gc, else switched on at run time. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
