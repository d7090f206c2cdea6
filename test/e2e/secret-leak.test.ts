/**
 * Secrets never leak: every command, with --debug, on its success and its failure paths, against a
 * provider that records every code, verifier, state and token it handles. Afterwards none of them
 * (nor the client secret, nor the data key) appears on stdout (except the access token in `token`'s
 * and `refresh --json`'s answer), on stderr, in any file under XTALK_HOME, or in the argv and
 * environment of the browser process xtalk started. `npm run build` first.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { recordSecrets, type SecretRecorder } from '../provider/secret-recorder.js';
import { openStore } from '../../src/store/index.js';
import { inspectStore, runXtalk, type CliEnv } from './xtalk-process.js';

const RECORDING_BROWSER = fileURLToPath(new URL('./recording-browser.ts', import.meta.url));

let provider: TestProvider;
let recorder: SecretRecorder;
beforeAll(async () => {
  provider = await startTestProvider({ rotateRefreshToken: true });
  recorder = recordSecrets(provider);
});
afterAll(async () => {
  await provider?.stop();
});

interface Ran {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout may carry the access token (the command's answer). */
  answersToken: boolean;
}

/** A read-write connection kept open, so the commands' writes stay in -wal (searched too) instead of being checkpointed away. */
function holdStore(home: string) {
  return openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {}, writing: true });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

it('every command with --debug: no token, code, verifier, state, client secret or data key where it does not belong', async () => {
  const home = mkdtempSync(join(tmpdir(), 'xtalk-leak-'));
  const recordsDir = mkdtempSync(join(tmpdir(), 'xtalk-leak-browser-'));
  const records = join(recordsDir, 'browser.jsonl');
  const { clientId, clientSecret } = provider.confidentialClient;
  const baseEnv: CliEnv = {
    XTALK_HOME: home,
    XTALK_CREDENTIAL_STORE: 'file',
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: clientId,
    XTALK_CLIENT_SECRET: clientSecret,
  };
  const browser = (login: string) => `"${process.execPath}" --import tsx "${RECORDING_BROWSER}" "${records}" ${login}`;
  const dataKeys = new Set<string>();
  const ran: Ran[] = [];
  // Every version of every file under XTALK_HOME seen after a command. A connection held open by
  // the test keeps xtalk.db-wal and -shm on disk (the last connection to close would delete them).
  const snapshots = new Map<string, Set<string>>();
  let holder: Awaited<ReturnType<typeof holdStore>> | undefined;
  const snapshot = () => {
    for (const file of filesUnder(home)) {
      const versions = snapshots.get(file) ?? new Set<string>();
      versions.add(readFileSync(file).toString('latin1'));
      snapshots.set(file, versions);
    }
  };
  const xtalk = async (args: string[], expected: number, opts: { login?: string; answersToken?: boolean } = {}) => {
    const env = { ...baseEnv, ...(opts.login ? { BROWSER: browser(opts.login) } : {}) };
    const r = await runXtalk([...args, '--debug'], env);
    ran.push({ args, code: r.code, stdout: r.stdout, stderr: r.stderr, answersToken: Boolean(opts.answersToken) });
    expect(r.code, `xtalk ${args.join(' ')} --debug\n${r.stderr}`).toBe(expected);
    expect(r.stderr, `xtalk ${args.join(' ')}`).toContain('[debug]');
    if (existsSync(join(home, 'xtalk.key'))) dataKeys.add(readFileSync(join(home, 'xtalk.key'), 'utf8').trim());
    holder ??= holdStore(home);
    snapshot();
    return r;
  };

  // Success paths.
  await xtalk(['login'], 0, { login: 'leak-alice' });
  await xtalk(['login', '--json'], 0, { login: 'leak-bob' });
  await xtalk(['status'], 0);
  await xtalk(['status', '--json'], 0);
  await xtalk(['switch', 'leak-alice'], 0);
  await xtalk(['whoami'], 0);
  await xtalk(['whoami', '--json'], 0);
  await xtalk(['whoami', '--verify'], 0);
  await xtalk(['token'], 0, { answersToken: true });
  await xtalk(['token', '--json'], 0, { answersToken: true });
  // Refreshes, then refuses: the provider's tokens never last that long (MIN_TTL_UNSATISFIABLE).
  await xtalk(['token', '--min-ttl', '100000'], 2);
  await xtalk(['refresh'], 0);
  await xtalk(['refresh', '--json'], 0, { answersToken: true });
  await xtalk(['whoami', '--account', 'leak-bob', '--verify'], 0);
  await xtalk(['logout', '--account', 'leak-bob'], 0);

  // Failure paths print their causes with --debug.
  const alice = await inspectStore(home, { decrypt: true });
  await provider.revoke(alice.refreshTokens['leak-alice']!);
  await xtalk(['refresh'], 4);
  await xtalk(['token', '--account', 'leak-bob'], 4);
  await xtalk(['login'], 0, { login: 'leak-alice' });
  await provider.stop();
  await xtalk(['refresh'], 1);
  await xtalk(['whoami', '--verify'], 1);
  await xtalk(['logout'], 5);
  await provider.restart();
  await xtalk(['logout'], 0);
  await xtalk(['token'], 4);
  await xtalk(['login'], 0, { login: 'leak-carol' });
  await xtalk(['logout', '--all'], 0);
  holder?.close();
  snapshot();

  // What to look for.
  const secrets = recorder.secrets.filter((s) => s.kind !== 'nonce' && s.kind !== 'state');
  const states = recorder.values('state');
  const accessTokens = new Set(recorder.values('access_token'));
  const clientSecretForms = [clientSecret, encodeURIComponent(clientSecret), Buffer.from(`${clientId}:${clientSecret}`).toString('base64')];
  const dataKeyForms = [...dataKeys].flatMap((k) => [k, Buffer.from(k, 'base64').toString('hex')]);
  const counts = Object.fromEntries(
    ['access_token', 'refresh_token', 'id_token', 'code', 'code_verifier', 'state'].map((k) => [k, recorder.values(k as never).length]),
  );
  expect(counts.access_token).toBeGreaterThanOrEqual(6);
  expect(counts.refresh_token).toBeGreaterThanOrEqual(6);
  expect(counts.code).toBeGreaterThanOrEqual(4);
  expect(counts.code_verifier).toBe(counts.code);
  expect(dataKeys.size).toBeGreaterThanOrEqual(2);
  // The recorder saw the values xtalk really handled: what it printed and what it stored.
  expect(accessTokens.has(ran.find((r) => r.args.join(' ') === 'token')!.stdout.trim())).toBe(true);
  expect(recorder.values('refresh_token')).toContain(alice.refreshTokens['leak-alice']);

  const browserRuns = readFileSync(records, 'utf8')
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as { argv?: string[]; execArgv?: string[]; env?: Record<string, string>; callback?: string; error?: string },
    );
  const launches = browserRuns.filter((r) => r.argv);
  expect(launches).toHaveLength(4);
  expect(browserRuns.filter((r) => r.error)).toEqual([]);
  // The browser gets a one-time local link; the authorization URL is shown on the terminal only.
  for (const launch of launches) expect(launch.argv!.at(-1)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]{43}$/);
  const authorizationUrls = ran.flatMap((r) => [...r.stderr.matchAll(/Open this URL to sign in:\n(\S+)/g)].map((m) => m[1]!));
  expect(authorizationUrls).toHaveLength(launches.length);
  for (const url of authorizationUrls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\?/);
  // Any other user of the machine can read a process's argv: state, nonce and PKCE challenge stay out of it.
  const challenges = recorder.values('code_verifier').map((v) => createHash('sha256').update(v).digest('base64url'));
  const signInValues = [...states, ...recorder.values('nonce'), ...challenges];
  expect(signInValues.length).toBeGreaterThanOrEqual(3 * launches.length);
  /** The authorization URL (on stderr) carries the state by design; nowhere else may it appear. */
  const withoutAuthorizationUrls = (text: string) => authorizationUrls.reduce((t, url) => t.split(url).join('<authorization url>'), text);

  const hits: string[] = [];
  const search = (where: string, text: string, opts: { accessTokenAllowed?: boolean } = {}) => {
    for (const s of secrets) {
      if (opts.accessTokenAllowed && accessTokens.has(s.value)) continue;
      if (text.includes(s.value)) hits.push(`${s.kind} in ${where}`);
    }
    for (const v of clientSecretForms) if (text.includes(v)) hits.push(`client secret in ${where}`);
    for (const v of dataKeyForms) if (text.includes(v)) hits.push(`data key in ${where}`);
    const rest = withoutAuthorizationUrls(text);
    for (const v of states) if (rest.includes(v)) hits.push(`state outside the authorization URL in ${where}`);
  };

  for (const r of ran) {
    const name = `xtalk ${r.args.join(' ')} --debug`;
    search(`${name}: stderr`, r.stderr);
    search(`${name}: stdout`, r.stdout, { accessTokenAllowed: r.answersToken });
  }
  const files = [...snapshots.keys()].map((f) => f.slice(home.length + 1));
  expect(files).toEqual(expect.arrayContaining(['xtalk.db', 'xtalk.db-wal', 'xtalk.db-shm', 'xtalk.key']));
  for (const [file, versions] of snapshots) {
    const where = `${file.slice(home.length + 1)} in XTALK_HOME`;
    for (const text of versions) {
      if (file.endsWith('xtalk.key')) {
        for (const s of secrets) if (text.includes(s.value)) hits.push(`${s.kind} in ${where}`);
      } else search(where, text);
    }
  }
  for (const [i, launch] of launches.entries()) {
    const argv = JSON.stringify([...launch.argv!, ...launch.execArgv!]);
    search(`argv of browser launch ${i + 1}`, argv);
    for (const v of signInValues) if (argv.includes(v)) hits.push(`state, nonce or code challenge in the argv of browser launch ${i + 1}`);
    if (/state=|nonce=|code_challenge|redirect_uri/.test(argv))
      hits.push(`authorization parameters in the argv of browser launch ${i + 1}`);
    search(`environment of browser launch ${i + 1}`, JSON.stringify(launch.env));
    expect(Object.keys(launch.env!).filter((k) => /SECRET|TOKEN|PASSWORD/i.test(k))).toEqual([]);
  }

  console.info(
    `secret leak: ${ran.length} commands with --debug, ${files.length} files under XTALK_HOME (${[...snapshots.values()].reduce((n, v) => n + v.size, 0)} versions: ${files.join(', ')}), ${launches.length} browser launches; ` +
      `searched ${secrets.length} provider secrets (${Object.entries(counts)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}), ` +
      `${clientSecretForms.length} client-secret forms, ${dataKeys.size} data keys: ${hits.length} hits`,
  );
  expect(hits).toEqual([]);
  for (const dir of [home, recordsDir]) rmSync(dir, { recursive: true, force: true });
}, 120_000);
