/**
 * Django OAuth Toolkit 1.7 (Debian's python3-django-oauth-toolkit) as a real provider for the interop
 * tests: copies the project in ./django to a temp folder, writes its settings (port, RSA key, token
 * lifetime, a user, one confidential application per ID-token algorithm), migrates, seeds and serves
 * it with `runserver` on 127.0.0.1 (which ends when the test process does). DOT itself is left as
 * shipped: discovery only at the slash URL, no offline_access scope, rotating refresh tokens.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const PROJECT = fileURLToPath(new URL('./django', import.meta.url));

export type IdTokenAlg = 'RS256' | 'HS256';

export interface DotApplication {
  clientId: string;
  clientSecret: string;
  algorithm: IdTokenAlg;
  redirectUri: string;
}

export interface DotUser {
  username: string;
  password: string;
  email: string;
  group: string;
  /** The `sub` DOT issues: the Django user's primary key. */
  sub: string;
}

/** One answer of /o/token/ or /o/revoke_token/, as the project's middleware saw it. */
export interface DotGrant {
  path: string;
  grant_type: string;
  status: number;
  error: string;
}

/** An authorization request as a browser brought it to DOT (one sign-in may bring it several times). */
export interface DotAuthorization {
  state: string;
  scope: string;
}

export interface DotAccessToken {
  id: number;
  token: string;
  client_id: string | null;
  user: string | null;
  scope: string;
  expires: string;
  valid: boolean;
}

export interface DotRefreshToken {
  id: number;
  token: string;
  client_id: string;
  user: string;
  revoked: string | null;
  access_token_id: number | null;
}

export interface DotProvider {
  origin: string;
  /** What DOT names as its issuer: the `/o` prefix, no trailing slash. */
  issuer: string;
  /** The only URL DOT serves its discovery document at (trailing slash). */
  discoveryUrl: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  introspectionEndpoint: string;
  /** The fixed loopback port every application's redirect URI names (XTALK_PORT). */
  callbackPort: number;
  user: DotUser;
  applications: Record<IdTokenAlg, DotApplication>;
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>;
  grants(): Promise<DotGrant[]>;
  /** The authorization requests so far, one entry per distinct `state`, in order. */
  authorizations(): Promise<DotAuthorization[]>;
  tokens(): Promise<{ access: DotAccessToken[]; refresh: DotRefreshToken[] }>;
  /** runserver's output so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Why DOT cannot run here (no /usr/bin/python3 or Debian's packages missing), or undefined when it
 * can. Under CI=true callers must not skip on this: .ci/run installs the packages.
 */
export function dotUnavailableReason(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import django, oauth2_provider, jwcrypto; print(oauth2_provider.__version__)'], {
    encoding: 'utf8',
    env: pythonEnv(),
    timeout: 30_000,
  });
  if (probe.error)
    return `${PYTHON} cannot run (${probe.error.message}); install python3-django-oauth-toolkit python3-django python3-jwcrypto`;
  if (probe.status !== 0)
    return `Django OAuth Toolkit is not importable by ${PYTHON}; apt-get install python3-django-oauth-toolkit python3-django python3-jwcrypto\n${probe.stderr.trim()}`;
  if (!probe.stdout.trim().startsWith('1.7')) return `expected Django OAuth Toolkit 1.7, found ${probe.stdout.trim()}`;
  return undefined;
}

/**
 * Whether a test file skips the interop tests: only outside CI, saying why. Under CI=true a missing
 * provider is a failure, never a skip (.ci/run installs the packages): `run` is then false and
 * `reason` set, for a test that fails with it.
 */
export function dotAvailability(): { run: boolean; skip: boolean; reason: string | undefined } {
  const reason = dotUnavailableReason();
  const skip = Boolean(reason) && process.env.CI !== 'true';
  if (skip) console.warn(`Skipping the Django OAuth Toolkit interop tests: ${reason}`);
  return { run: !reason, skip, reason };
}

function pythonEnv(): NodeJS.ProcessEnv {
  // Nothing from the caller's Python setup (PYTHONPATH, a venv) may change which packages load.
  return { PATH: '/usr/bin:/bin', HOME: process.env.HOME, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function runPython(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { cwd, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 ${args.join(' ')} exited ${code}:\n${err}${out}`))));
  });
}

const secret = (bytes = 24) => randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x');

export async function startDot(opts: { accessTokenSeconds?: number; callbackPort?: number } = {}): Promise<DotProvider> {
  const base = mkdtempSync(join(tmpdir(), 'xtalk-dot-'));
  const dir = join(base, 'project');
  cpSync(PROJECT, dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  const [port, callbackPort] = [await freePort(), opts.callbackPort ?? (await freePort())];
  const origin = `http://127.0.0.1:${port}`;
  const redirectUri = `http://127.0.0.1:${callbackPort}/callback`;
  const user = { username: 'dana', password: `pw-${secret(9)}`, email: 'dana@example.test', group: 'developers' };
  // Client ids with the characters openid-client percent-encodes in a Basic header.
  const applications: Record<IdTokenAlg, DotApplication> = {
    RS256: { clientId: 'xtalk-cli.rs256_~test', clientSecret: secret(), algorithm: 'RS256', redirectUri },
    HS256: { clientId: 'xtalk-cli.hs256_~test', clientSecret: secret(), algorithm: 'HS256', redirectUri },
  };
  const introspectionToken = secret(30);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(join(dir, 'oidc.key'), privateKey, { mode: 0o600 });
  writeFileSync(
    join(dir, 'harness.json'),
    JSON.stringify({
      django_secret_key: secret(40),
      access_token_seconds: opts.accessTokenSeconds ?? 30,
      user,
      introspection_token: introspectionToken,
      applications: Object.values(applications).map((a) => ({
        name: `xtalk ${a.algorithm}`,
        client_id: a.clientId,
        client_secret: a.clientSecret,
        algorithm: a.algorithm,
        redirect_uri: a.redirectUri,
      })),
    }),
  );

  let server: ChildProcess | undefined;
  let log = '';
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('close', r));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(base, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await runPython(['manage.py', 'migrate', '--noinput', '-v', '0'], dir);
    const seeded = JSON.parse(await runPython(['seed.py'], dir)) as { user_id: string };
    // runserver is threaded: the parallel refreshes meet DOT concurrently, as in production.
    server = spawn(PYTHON, ['serve.py', `127.0.0.1:${port}`], { cwd: dir, env: pythonEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    await waitUntilReady(`${origin}/harness/ready`, server, () => log);

    const issuer = `${origin}/o`;
    const json = async (path: string) => {
      const res = await fetch(`${origin}${path}`);
      if (!res.ok) throw new Error(`${path} answered ${res.status}`);
      return res.json();
    };
    return {
      origin,
      issuer,
      discoveryUrl: `${issuer}/.well-known/openid-configuration/`,
      tokenEndpoint: `${issuer}/token/`,
      revocationEndpoint: `${issuer}/revoke_token/`,
      introspectionEndpoint: `${issuer}/introspect/`,
      callbackPort,
      user: { ...user, sub: seeded.user_id },
      applications,
      async introspect(token) {
        const res = await fetch(`${issuer}/introspect/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${introspectionToken}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }),
        });
        if (!res.ok) throw new Error(`DOT's introspection answered ${res.status}`);
        return (await res.json()) as { active: boolean };
      },
      grants: async () => ((await json('/harness/grants')) as { grants: DotGrant[] }).grants,
      async authorizations() {
        const all = ((await json('/harness/grants')) as { authorizations: DotAuthorization[] }).authorizations;
        return all.filter((a, i) => all.findIndex((b) => b.state === a.state) === i);
      },
      tokens: async () => (await json('/harness/tokens')) as { access: DotAccessToken[]; refresh: DotRefreshToken[] },
      log: () => log,
      stop,
    };
  } catch (e) {
    await stop();
    throw new Error(`Django OAuth Toolkit did not start: ${e instanceof Error ? e.message : e}\n${log}`);
  }
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`runserver exited ${server.exitCode ?? server.signalCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > end) throw new Error(`runserver not ready at ${url} after 60 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
