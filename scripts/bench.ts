// `npm run bench`: start-up cost of the built CLI, reported as ratios to `node -e 0` measured in the
// same run, interleaved (shared machines are noisy; absolute milliseconds mean little).
//
//   npm run bench [-- --rounds N] [--bin PATH]   (--bin: time another build's bin/xtalk.cjs, e.g. an older checkout)
//
// Starts the local OpenID provider in-process and signs in once per credential store with
// `xtalk login` (scripted HTTP "browser"): one temp XTALK_HOME with the file store, one with the
// keychain store. The keychain is a gnome-keyring of the bench's own, unlocked, inside its own
// `dbus-run-session` (as .ci/run sets up for the tests); its children get that session's
// DBUS_SESSION_BUS_ADDRESS. Times `node -e 0`, `xtalk token` and `xtalk whoami --json` on both
// stores interleaved in the same rounds (the keychain's `xtalk token` twice: with the kernel key cache
// as configured by default, which the first warm-up run fills, and with XTALK_KEY_CACHE_SECONDS=0), then the file store again seeded with 1,000 accounts and
// 100,000 access-token rows. Prints the tables and whether the targets were met; exits 0 either
// way (a report, not a test). Exit 1 only when the set-up itself fails. Without dbus-run-session or
// gnome-keyring-daemon on PATH, the keychain rows are skipped with a note.
// The native launcher (dist/prebuilds/<platform>-<arch>/xtalk, warm: the warm-up fills its copy) is
// timed on both stores beside oidc-agent's `oidc-token` when oidc-agent is installed, with an agent of
// the bench's own holding a session at the same provider (scripts/bench-oidc-agent.ts).
//
// Then `xtalk refresh` (file store, a session of its own) interleaved with `node -e 0`: its own time,
// the wall time less what the provider's token endpoint took (timed inside the provider).
//
// Then the Node API in this process and `xtalk login` with headless Chromium (scripts/bench-inprocess.ts;
// --login-rounds N sign-ins, default 5), each with its target.
//
// Internal mode, used as $BROWSER for the login (xtalk appends the URL as the last argument):
//   node --import tsx scripts/bench.ts --sign-in LOGIN --log FILE URL
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { signInWithHttp } from '../test/provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../test/provider/provider.js';
import { keychainAccount } from '../src/store/keys/keychain-read.js';
import { systemKeyCache } from '../src/store/keys/keychain/kernel-cache/key-cache.js';
import { systemTokenCopy } from '../src/store/keys/keychain/kernel-cache/token-copy.js';
import { countAccessTokens, seedLargeStore } from './bench-seed.js';
import { benchChromiumLogin, benchNodeApi, formatRows, type Row } from './bench-inprocess.js';
import { oidcAgentInstalled, refreshTokenOf, startOidcAgent, type OidcAgent } from './bench-oidc-agent.js';

const SIGN_IN_FLAG = '--sign-in';
const WARMUP_ROUNDS = 3;
const DEFAULT_ROUNDS = 25;
const DEFAULT_LOGIN_ROUNDS = 5;
const LARGE = { users: 1_000, accessTokens: 100_000, currentUserExtraRows: 100 };
const TARGET_TOKEN_VS_NODE = 1.3;
const TARGET_WHOAMI_VS_NODE = 1.4;
const TARGET_LARGE_VS_SMALL = 1.05;
const BARE_NODE = 'node -e 0 (no NODE_EXTRA_CA_CERTS)';
const TARGET_LAUNCHER_VS_OIDC_TOKEN = 1.0;
const TARGET_REFRESH_VS_NODE = 2.0;
const REFRESH_OWN = 'xtalk refresh (file, own time)';
const REFRESH_OWN_BARE = 'xtalk refresh (own time, no NODE_EXTRA_CA_CERTS)';
const LAUNCHER_FILE = 'xtalk token (launcher, file)';
const LAUNCHER_KEYCHAIN = 'xtalk token (launcher, keychain)';
const OIDC_TOKEN = 'oidc-token (oidc-agent)';

/** What the commands' `elsewhere` took in each timed run (only `xtalk refresh` has one), for the report. */
const tokenEndpointSamples: number[] = [];
const root = fileURLToPath(new URL('..', import.meta.url));
let bin = join(root, 'bin', 'xtalk.cjs');

if (process.argv[2] === SIGN_IN_FLAG) await signInMode(process.argv.slice(3));
else process.exitCode = await bench();

// ---------------------------------------------------------------------------------------------

/** $BROWSER for the login: walks the provider's pages over HTTP and delivers the callback. */
async function signInMode(args: string[]): Promise<void> {
  const url = args.at(-1) ?? '';
  const login = args[0] ?? 'bench';
  const logIndex = args.indexOf('--log');
  const log = logIndex >= 0 ? args[logIndex + 1] : undefined;
  try {
    await signInWithHttp(url, { login });
  } catch (e) {
    if (log) appendFileSync(log, `sign-in failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}

interface Command {
  name: string;
  /** The program; node (process.execPath) unless given. */
  file?: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Returns a problem with the run, or undefined when it did what it should. */
  check: (run: RunResult) => string | undefined;
  /** Called before each run; returns the milliseconds of that run spent elsewhere (the provider's token endpoint), left out of its sample. */
  elsewhere?: () => () => number;
}

interface RunResult {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

class SetupError extends Error {}

async function bench(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: String(DEFAULT_ROUNDS) },
      bin: { type: 'string' },
      'login-rounds': { type: 'string', default: String(DEFAULT_LOGIN_ROUNDS) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench [-- --rounds N] [--login-rounds N] [--bin PATH]   (rounds: default ${DEFAULT_ROUNDS}, at least 20 recommended; ` +
        `login-rounds: Chromium sign-ins, default ${DEFAULT_LOGIN_ROUNDS})\n`,
    );
    return 0;
  }
  if (values.bin) bin = values.bin;
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`bench: --rounds must be a positive integer, got ${JSON.stringify(values.rounds)}\n`);
    return 2;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'xtalk-bench-'));
  const cwd = join(tmp, 'cwd'); // empty: no .env of the checkout leaks into the runs
  const smallHome = join(tmp, 'small');
  const keychainHome = join(tmp, 'keychain');
  const largeHome = join(tmp, 'large');
  const refreshHome = join(tmp, 'refresh');
  const oidcHome = join(tmp, 'oidc-agent-session');
  mkdirSync(cwd);
  let provider: TestProvider | undefined;
  let keyring: KeyringSession | undefined;
  let agent: OidcAgent = { stop: () => {} };
  const cleanup = () => {
    keyring?.stop();
    agent.stop();
    // The launcher's copies of the tokens would otherwise live on until their refresh margin.
    for (const home of [smallHome, keychainHome, refreshHome]) systemTokenCopy(process.env, process.platform)?.forget({ dataDir: home });
    // The key cache's copy of the keychain store's key would otherwise live on for its 600 s.
    if (existsSync(join(keychainHome, 'xtalk.db'))) systemKeyCache(1)?.forget(keychainAccount(join(keychainHome, 'xtalk.db')));
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSigint = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSigint);

  try {
    // Time spent answering token-endpoint requests (POST /token): `xtalk refresh`'s own time leaves it out.
    let tokenEndpointMs = 0;
    provider = await startTestProvider({
      middleware: [
        async (ctx, next) => {
          if (ctx.path !== '/token') return next();
          const start = process.hrtime.bigint();
          try {
            await next();
          } finally {
            tokenEndpointMs += Number(process.hrtime.bigint() - start) / 1e6;
          }
        },
      ],
    });
    const baseEnv = cleanEnv({
      XTALK_CREDENTIAL_STORE: 'file',
      XTALK_ISSUER: provider.issuer,
      XTALK_CLIENT_ID: provider.confidentialClient.clientId,
      XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    });
    const smallEnv = { ...baseEnv, XTALK_HOME: smallHome };
    const largeEnv = { ...baseEnv, XTALK_HOME: largeHome };
    const refreshEnv = { ...baseEnv, XTALK_HOME: refreshHome };

    out(
      `xtalk bench — ${bin}, node ${process.version}, ${process.platform}/${process.arch}, ${rounds} rounds (+${WARMUP_ROUNDS} warm-up), interleaved in shuffled order`,
    );
    out(`file store: XTALK_CREDENTIAL_STORE=file, key in $XTALK_HOME/xtalk.key, no D-Bus session`);
    keyring = await startKeyringSession(join(tmp, 'keyring'));
    const keychainEnv = keyring.address
      ? { ...baseEnv, XTALK_CREDENTIAL_STORE: 'keychain', XTALK_HOME: keychainHome, DBUS_SESSION_BUS_ADDRESS: keyring.address }
      : undefined;
    out(
      keychainEnv
        ? `keychain store: XTALK_CREDENTIAL_STORE=keychain, an unlocked gnome-keyring (Secret Service) in the bench's own dbus-run-session; ` +
            `the kernel key cache on (default) and off (XTALK_KEY_CACHE_SECONDS=0)`
        : `keychain store: NOT MEASURED (${keyring.problem})`,
    );

    // --- login once per store -----------------------------------------------------------------
    const browserLog = join(tmp, 'browser.log');
    const browser = [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      fileURLToPath(import.meta.url),
      SIGN_IN_FLAG,
      'bench',
      '--log',
      browserLog,
    ]
      .map(shellWord)
      .join(' ');
    for (const [store, env] of [
      ['file', smallEnv],
      ['keychain', keychainEnv],
      // Its own session: every timed refresh rotates the tokens, which the token rows must not see.
      ['file, for the refresh rows', refreshEnv],
    ] as const) {
      if (!env) continue;
      const login = await run([bin, 'login', '--json'], { ...env, BROWSER: browser, XTALK_TIMEOUT: '60' }, cwd);
      if (login.code !== 0) {
        const log = existsSync(browserLog) ? readFileSync(browserLog, 'utf8') : '';
        throw new SetupError(`xtalk login (${store} store) failed (exit ${login.code}):\n${login.stderr}${log}`);
      }
      out(`login (${store} store): ${fmt(login.ms)} ms (once, scripted HTTP browser)`);
    }

    const hasToken = (await run([bin, 'token', '--help'], smallEnv, cwd)).code === 0;
    const launcherPath = join(dirname(bin), '..', 'dist', 'prebuilds', `${process.platform}-${process.arch}`, 'xtalk');
    const launcher = existsSync(launcherPath) ? launcherPath : undefined;
    out(launcher ? `native launcher: ${launcherPath}` : `native launcher: NOT MEASURED (no ${launcherPath})`);

    // oidc-agent, with a session of its own at the same provider (see scripts/bench-oidc-agent.ts).
    if (oidcAgentInstalled()) {
      const login = await run(
        [bin, 'login', '--prompt', 'consent'],
        { ...baseEnv, XTALK_HOME: oidcHome, BROWSER: browser, XTALK_TIMEOUT: '60' },
        cwd,
      );
      const refreshToken = login.code === 0 ? await refreshTokenOf(oidcHome) : undefined;
      agent = refreshToken
        ? await startOidcAgent({
            dir: join(tmp, 'oidc-agent'),
            env: baseEnv,
            issuer: provider.issuer,
            clientId: provider.confidentialClient.clientId,
            clientSecret: provider.confidentialClient.clientSecret,
            refreshToken,
          })
        : { problem: `no session for it (xtalk login exited ${login.code})`, stop: () => {} };
    } else {
      agent = { problem: 'oidc-agent is not installed (apt-get install oidc-agent)', stop: () => {} };
    }
    out(
      agent.token
        ? `oidc-agent: an agent of the bench's own holding a session at the same provider`
        : `oidc-agent: NOT MEASURED (${agent.problem})`,
    );
    if (!hasToken) out('NOTE: this build has no `xtalk token` (`xtalk token --help` failed); timing the other commands only.');

    const expectedTokens = new Map<string, string>();
    const node0: Command = { name: 'node -e 0', args: ['-e', '0'], env: baseEnv, check: exitZero };
    // NODE_EXTRA_CA_CERTS (set on some machines, these included) makes every node process read the
    // certificates at start, `node -e 0` too: a slower baseline and lower ratios. The same baseline
    // without it is timed alongside, so the report can say what the ratios would be elsewhere.
    const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...envWithoutCaCerts } = baseEnv;
    const bareNode: Command | undefined = extraCaCerts
      ? { name: BARE_NODE, args: ['-e', '0'], env: envWithoutCaCerts, check: exitZero }
      : undefined;
    const token = (name: string, env: NodeJS.ProcessEnv, file?: string): Command => ({
      name,
      file,
      args: file ? ['token'] : [bin, 'token'],
      env,
      check: (r) => {
        const problem = exitZero(r);
        if (problem) return problem;
        if (!/^\S+\n$/.test(r.stdout)) return `expected one token and a newline on stdout, got ${JSON.stringify(r.stdout.slice(0, 80))}`;
        const home = env.XTALK_HOME!;
        if (!expectedTokens.has(home)) expectedTokens.set(home, r.stdout);
        if (r.stdout !== expectedTokens.get(home)) return 'printed a different token than before (refreshed, or picked the wrong row)';
        return undefined;
      },
    });
    const whoami = (name: string, env: NodeJS.ProcessEnv): Command => ({
      name,
      args: [bin, 'whoami', '--json'],
      env,
      check: (r) => {
        const problem = exitZero(r);
        if (problem) return problem;
        try {
          const account = JSON.parse(r.stdout) as { sub?: unknown; credential_store?: unknown };
          if (account.sub !== 'bench') return `unexpected account ${JSON.stringify(account.sub)}`;
          if (account.credential_store !== env.XTALK_CREDENTIAL_STORE) {
            return `credential_store is ${JSON.stringify(account.credential_store)}, expected ${JSON.stringify(env.XTALK_CREDENTIAL_STORE)}`;
          }
        } catch {
          return `stdout is not JSON: ${JSON.stringify(r.stdout.slice(0, 80))}`;
        }
        return undefined;
      },
    });

    const grantsBefore = provider.grants.length;

    // --- small stores, both kinds in the same rounds ------------------------------------------
    const small = await measure(
      [
        node0,
        ...(bareNode ? [bareNode] : []),
        ...(hasToken ? [token('xtalk token (file)', smallEnv)] : []),
        ...(hasToken && keychainEnv ? [token('xtalk token (keychain)', keychainEnv)] : []),
        // The same store with the kernel key cache turned off: every run asks the Secret Service.
        ...(hasToken && keychainEnv
          ? [token('xtalk token (keychain, no key cache)', { ...keychainEnv, XTALK_KEY_CACHE_SECONDS: '0' })]
          : []),
        whoami('xtalk whoami --json (file)', smallEnv),
        ...(keychainEnv ? [whoami('xtalk whoami --json (keychain)', keychainEnv)] : []),
        // The native launcher (issue 26), warm: the first warm-up run goes through Node, which
        // leaves the copy it serves from then on.
        ...(hasToken && launcher ? [token(LAUNCHER_FILE, smallEnv, launcher)] : []),
        ...(hasToken && launcher && keychainEnv ? [token(LAUNCHER_KEYCHAIN, keychainEnv, launcher)] : []),
        ...(agent.token ? [{ name: OIDC_TOKEN, ...agent.token, check: oneToken }] : []),
      ],
      rounds,
      cwd,
    );
    for (const printed of expectedTokens.values()) {
      const introspection = await provider.introspect(printed.trim());
      if (!introspection.active) throw new SetupError('a token xtalk printed is not active at the provider');
    }
    out('');
    out(`small stores: 1 account, 1 access token`);
    printTable(small);

    // --- large store ---------------------------------------------------------------------------
    cpSync(smallHome, largeHome, { recursive: true });
    const seed = seedLargeStore(join(largeHome, 'xtalk.db'), LARGE);
    out('');
    out(
      `large file store: ${seed.users.toLocaleString('en')} accounts, ${seed.accessTokens.toLocaleString('en')} access tokens ` +
        `(current account: ${seed.currentUserRows} rows, the newest valid), ${(seed.bytes / 1048576).toFixed(1)} MiB, seeded in ${fmt(seed.ms)} ms`,
    );
    // The small-store token runs again as a reference in the same rounds, so the large/small ratio
    // does not compare two phases that may have run under different machine load.
    const large = await measure(
      [
        node0,
        ...(hasToken ? [token('xtalk token (large)', largeEnv)] : []),
        whoami('xtalk whoami --json (large)', largeEnv),
        ...(hasToken ? [token('xtalk token (small, ref.)', smallEnv)] : []),
      ],
      rounds,
      cwd,
    );
    printTable(large);
    const rowsAfter = countAccessTokens(join(largeHome, 'xtalk.db'), seed.currentUserId);
    if (rowsAfter !== seed.currentUserRows)
      out(`note: the current account's rows went from ${seed.currentUserRows} to ${rowsAfter} during the runs (pruned)`);

    const grants = provider.grants.slice(grantsBefore);
    out('');
    out(
      `provider token grants during the timed runs: ${grants.length}${grants.length ? ` (${grants.map((g) => g.grantType).join(', ')})` : ''}`,
    );

    // --- xtalk refresh ------------------------------------------------------------------------------
    const refreshGrantsBefore = provider.refreshGrantCount();
    const refresh = (name: string, env: NodeJS.ProcessEnv): Command => ({
      name,
      args: [bin, 'refresh'],
      env,
      check: (r) => exitZero(r) ?? (/^✓ Refreshed the access token of bench;/.test(r.stderr) ? undefined : 'no ✓ line on stderr'),
      elsewhere: () => {
        tokenEndpointMs = 0;
        return () => tokenEndpointMs;
      },
    });
    // Without NODE_EXTRA_CA_CERTS too (the provider is plain http on loopback): the ratio other machines see.
    const refreshEnvWithoutCaCerts = { ...envWithoutCaCerts, XTALK_HOME: refreshHome };
    const refreshPhase = await measure(
      [node0, refresh(REFRESH_OWN, refreshEnv), ...(bareNode ? [bareNode, refresh(REFRESH_OWN_BARE, refreshEnvWithoutCaCerts)] : [])],
      rounds,
      cwd,
    );
    const refreshGrants = provider.refreshGrantCount() - refreshGrantsBefore;
    out('');
    out(
      `xtalk refresh, file store: wall time less the provider's token endpoint (median ${fmt(medianOf(tokenEndpointSamples))} ms), ${refreshGrants} refresh grants`,
    );
    printTable(refreshPhase);

    // --- the Node API in this process; login with Chromium ---------------------------------------
    // After the CLI rounds above, which only read the small store: it is old enough to be judged by its stamps.
    const inProcess: Row[] = await benchNodeApi(bin, smallEnv, cwd, rounds);
    const chromiumLogin = await benchChromiumLogin(bin, baseEnv, cwd, Number(values['login-rounds']));
    if ('row' in chromiumLogin) inProcess.push(chromiumLogin.row);
    out('');
    out(
      `Node API in this process (file store, ${rounds} rounds) and xtalk login with headless Chromium (${values['login-rounds']} sign-ins)`,
    );
    for (const line of formatRows(inProcess)) out(line);
    if ('problem' in chromiumLogin) out(`  xtalk login, Chromium callback → exit: NOT MEASURED (${chromiumLogin.problem})`);

    // --- targets -------------------------------------------------------------------------------
    out('');
    out('targets (medians; each ratio within one interleaved run)');
    const m = (stats: Stats[], name: string) => stats.find((s) => s.name === name)?.median ?? NaN;
    const target = (label: string, value: number, limit: number) =>
      out(`  ${label.padEnd(52)} ${Number.isNaN(value) ? 'NOT MEASURED' : `${ratio(value)}  ${verdict(value <= limit)}`}`);
    const node = m(small, 'node -e 0');
    const lim = (t: number) => `≤ ${t.toFixed(2)}×`;
    target(`xtalk token, file store ${lim(TARGET_TOKEN_VS_NODE)} node -e 0`, m(small, 'xtalk token (file)') / node, TARGET_TOKEN_VS_NODE);
    target(
      `xtalk token, keychain store ${lim(TARGET_TOKEN_VS_NODE)} node -e 0`,
      m(small, 'xtalk token (keychain)') / node,
      TARGET_TOKEN_VS_NODE,
    );
    target(
      `xtalk whoami --json, file store ${lim(TARGET_WHOAMI_VS_NODE)} node -e 0`,
      m(small, 'xtalk whoami --json (file)') / node,
      TARGET_WHOAMI_VS_NODE,
    );
    target(
      `xtalk whoami --json, keychain store ${lim(TARGET_WHOAMI_VS_NODE)} node -e 0`,
      m(small, 'xtalk whoami --json (keychain)') / node,
      TARGET_WHOAMI_VS_NODE,
    );
    const peer = m(small, OIDC_TOKEN);
    target(
      `${LAUNCHER_FILE} ${lim(TARGET_LAUNCHER_VS_OIDC_TOKEN)} oidc-token`,
      m(small, LAUNCHER_FILE) / peer,
      TARGET_LAUNCHER_VS_OIDC_TOKEN,
    );
    target(
      `${LAUNCHER_KEYCHAIN} ${lim(TARGET_LAUNCHER_VS_OIDC_TOKEN)} oidc-token`,
      m(small, LAUNCHER_KEYCHAIN) / peer,
      TARGET_LAUNCHER_VS_OIDC_TOKEN,
    );
    target(
      `xtalk refresh (own time) ${lim(TARGET_REFRESH_VS_NODE)} node -e 0`,
      m(refreshPhase, REFRESH_OWN) / m(refreshPhase, 'node -e 0'),
      TARGET_REFRESH_VS_NODE,
    );
    if (bareNode) {
      target(
        `  the same, both without NODE_EXTRA_CA_CERTS`,
        m(refreshPhase, REFRESH_OWN_BARE) / m(refreshPhase, BARE_NODE),
        TARGET_REFRESH_VS_NODE,
      );
    }
    target(
      `xtalk token, large ${lim(TARGET_LARGE_VS_SMALL)} small (same rounds)`,
      m(large, 'xtalk token (large)') / m(large, 'xtalk token (small, ref.)'),
      TARGET_LARGE_VS_SMALL,
    );
    if (bareNode) {
      const bare = m(small, BARE_NODE);
      out('');
      out(`NODE_EXTRA_CA_CERTS is set: it adds ${fmt(node - bare)} ms to every node start here (node -e 0 included), which lowers`);
      out('every ratio above. What xtalk adds is the "+ ms" column; against node -e 0 without it the ratios would be:');
      for (const name of ['xtalk token (file)', 'xtalk token (keychain)', 'xtalk whoami --json (file)', 'xtalk whoami --json (keychain)']) {
        const value = m(small, name);
        if (!Number.isNaN(value)) out(`  ${name.padEnd(32)} ${ratio((value - node + bare) / bare)}`);
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof SetupError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    await provider?.stop();
    cleanup();
  }
}

interface KeyringSession {
  /** The session bus of the keyring; undefined when none could be started (`problem` says why). */
  address?: string;
  problem?: string;
  stop(): void;
}

/**
 * A private session bus with an unlocked gnome-keyring of its own (in `dataDir`), alive until
 * stop(): the shell inside `dbus-run-session` prints the bus address and then waits on its stdin,
 * so closing that pipe ends the session, its bus and the keyring daemon.
 */
async function startKeyringSession(dataDir: string): Promise<KeyringSession> {
  const missing = ['dbus-run-session', 'gnome-keyring-daemon'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (missing.length) return { problem: `${missing.join(' and ')} not found; apt-get install gnome-keyring dbus-x11`, stop: () => {} };
  mkdirSync(dataDir, { recursive: true });
  const script =
    'printf %s xtalk-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1; ' +
    'echo "bus=$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null';
  const child: ChildProcess = spawn('dbus-run-session', ['--', 'sh', '-c', script], {
    env: { ...process.env, XDG_DATA_HOME: dataDir },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const stop = () => {
    child.stdin?.end();
  };
  const address = await new Promise<string | undefined>((resolve) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const match = /^bus=(.*)$/m.exec(text);
      if (match) resolve(match[1]);
    });
    child.once('close', () => resolve(undefined));
    child.once('error', () => resolve(undefined));
  });
  return address ? { address, stop } : { problem: 'the keyring session did not start', stop };
}

interface Stats {
  name: string;
  samples: number[];
  median: number;
  p90: number;
  min: number;
}

function medianOf(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Warm-up, then `rounds` rounds; each round runs every command once in a fresh random order. */
async function measure(commands: Command[], rounds: number, cwd: string): Promise<Stats[]> {
  const samples = commands.map(() => [] as number[]);
  for (let round = -WARMUP_ROUNDS; round < rounds; round++) {
    for (const i of shuffle(commands.map((_, k) => k))) {
      const command = commands[i]!;
      const elsewhere = command.elsewhere?.();
      const result = await run(command.args, command.env, cwd, command.file);
      const problem = command.check(result);
      if (problem) throw new SetupError(`\`${command.name}\` misbehaved: ${problem}\n${result.stderr}`);
      if (round < 0) continue;
      const away = elsewhere?.() ?? 0;
      if (elsewhere) tokenEndpointSamples.push(away);
      samples[i]!.push(result.ms - away);
    }
  }
  return commands.map((c, i) => {
    const sorted = [...samples[i]!].sort((a, b) => a - b);
    return { name: c.name, samples: sorted, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0] ?? NaN };
  });
}

/** Wall time from spawning `node <args>` (or `file <args>`) until it has exited and its pipes are closed. */
function run(args: string[], env: NodeJS.ProcessEnv, cwd: string, file = process.execPath): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code, stdout, stderr }));
  });
}

function printTable(stats: Stats[]): void {
  const base = stats.find((s) => s.name === 'node -e 0')!.median;
  const width = Math.max(...stats.map((s) => s.name.length), 'command'.length);
  out(
    `  ${'command'.padEnd(width)}  ${'median ms'.padStart(9)}  ${'p90 ms'.padStart(7)}  ${'min ms'.padStart(7)}  ${'÷ node -e 0'.padStart(11)}  ${'+ ms'.padStart(6)}`,
  );
  for (const s of stats) {
    out(
      `  ${s.name.padEnd(width)}  ${fmt(s.median).padStart(9)}  ${fmt(s.p90).padStart(7)}  ${fmt(s.min).padStart(7)}  ${ratio(s.median / base).padStart(11)}  ${fmt(s.median - base).padStart(6)}`,
    );
  }
}

/** Linear interpolation between closest ranks (the median of an even count is the mean of the middle two). */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The inherited environment without anything that would change what xtalk or node does. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(XTALK_|OIDC_|OAUTH2_)|^(BROWSER|NODE_OPTIONS|NO_COLOR|FORCE_COLOR|DBUS_SESSION_BUS_ADDRESS)$/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

function exitZero(r: RunResult): string | undefined {
  return r.code === 0 ? undefined : `exit ${r.code}`;
}

function oneToken(r: RunResult): string | undefined {
  return (
    exitZero(r) ?? (/^\S+\n$/.test(r.stdout) ? undefined : `expected one token and a newline, got ${JSON.stringify(r.stdout.slice(0, 80))}`)
  );
}

/** Quotes a word for xtalk's BROWSER parser (POSIX-shell-like word splitting, no shell). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function fmt(ms: number): string {
  return ms.toFixed(1);
}

function ratio(r: number): string {
  return `${r.toFixed(2)}×`;
}

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
