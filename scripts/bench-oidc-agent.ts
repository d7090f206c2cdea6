// The peer `npm run bench` times `xtalk token` against: oidc-agent's `oidc-token` (Debian:
// `apt-get install oidc-agent`), a C client asking an agent that holds the token in memory. Nothing is
// installed here: without the programs the row is skipped with a note.
//
// The agent is one of the bench's own (its socket in the bench's temp folder, its account files in
// OIDC_CONFIG_DIR there), given a session at the bench's provider by `oidc-gen --rt`: the refresh
// token of a sign-in made for it alone (`xtalk login --prompt consent` into a store of its own, so
// that offline_access is granted: oidc-agent asks for it on every refresh), so the agent's
// refreshes never rotate the token of the stores the bench times.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/store/index.js';

export interface OidcAgent {
  /** The program, its arguments and environment that print the agent's access token. */
  token?: { file: string; args: string[]; env: NodeJS.ProcessEnv };
  /** Why there is none. */
  problem?: string;
  stop(): void;
}

const ACCOUNT = 'xtalk-bench';

/** Reads the refresh token of the current account in the file store at `home`. */
export async function refreshTokenOf(home: string): Promise<string | undefined> {
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  try {
    const account = store.currentAccount();
    return account ? (await store.refreshToken(account.id))?.refreshToken : undefined;
  } finally {
    store.close();
  }
}

const PROGRAMS = ['oidc-agent', 'oidc-gen', 'oidc-token'];

export function oidcAgentInstalled(): boolean {
  return PROGRAMS.every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
}

export async function startOidcAgent(opts: {
  dir: string;
  env: NodeJS.ProcessEnv;
  issuer: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}): Promise<OidcAgent> {
  const configDir = join(opts.dir, 'config');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const base = { ...opts.env, OIDC_CONFIG_DIR: configDir, OIDC_SOCK: undefined, OIDCD_PID: undefined };
  const started = spawnSync(
    'oidc-agent',
    ['--socket-path', join(opts.dir, 'agent.sock'), '--no-autoload', '--no-webserver', '--no-scheme'],
    {
      env: { ...base, TMPDIR: opts.dir },
      encoding: 'utf8',
    },
  );
  const sock = /OIDC_SOCK=([^;\s]+)/.exec(started.stdout)?.[1];
  const pid = Number(/OIDCD_PID=(\d+)/.exec(started.stdout)?.[1]);
  if (started.status !== 0 || !sock || !pid) {
    return { problem: `oidc-agent did not start: ${(started.stderr || started.stdout).trim()}`, stop: () => {} };
  }
  const stop = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  };
  const env = { ...base, OIDC_SOCK: sock };
  // Not spawnSync: oidc-gen refreshes at the bench's provider, which answers from this process.
  const gen = await new Promise<{ status: number | string | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'oidc-gen',
      [
        ACCOUNT,
        `--issuer=${opts.issuer}`,
        `--client-id=${opts.clientId}`,
        `--client-secret=${opts.clientSecret}`,
        `--rt=${opts.refreshToken}`,
        '--scope=openid offline_access',
        // Asked for even when the session comes from a refresh token; never used here.
        '--redirect-uri=http://localhost:4242',
        '--pw-env=OIDC_ENCRYPTION_PW',
        '--confirm-default',
        '--no-url-call',
        '--prompt=none',
      ],
      { env: { ...env, OIDC_ENCRYPTION_PW: 'xtalk-bench' }, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => resolve({ status: err ? (err.code ?? err.signal ?? 'error') : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
  if (gen.status !== 0) {
    stop();
    return {
      problem: `oidc-gen could not add the bench's session (exit ${gen.status}): ${`${gen.stderr}${gen.stdout}`.trim().split('\n').slice(-3).join(' / ')}`,
      stop,
    };
  }
  return { token: { file: 'oidc-token', args: [ACCOUNT], env }, stop };
}
