/**
 * Another local user for tests of what one uid must not reach of another's (the loopback listener,
 * the kernel key cache). Root creates it with `useradd` and runs programs as it with `setpriv`; the
 * uid is used by number, so a test file that found the user already made by another keeps working
 * after that one removed it.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Root on Linux with setpriv and useradd: the tests of another user can run. */
export const canActAsAnotherUser =
  process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') && existsSync('/usr/sbin/useradd');

export interface SecondUser {
  name: string;
  uid: number;
  gid: number;
  /** Removes the user if this call created it. */
  remove(): void;
}

/** Creates (or finds) the local user `name`: no home, no login shell. */
export function secondUser(name = 'xtalkh1'): SecondUser {
  const made = spawnSync('/usr/sbin/useradd', ['-M', '-s', '/usr/sbin/nologin', name], { encoding: 'utf8' });
  // 9: the user exists already (another test file of this run made it).
  if (made.status !== 0 && made.status !== 9) throw new Error(`useradd ${name}: ${made.stderr}`);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid,
    gid,
    remove: () => {
      if (made.status === 0) spawnSync('/usr/sbin/userdel', [name]);
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` as `user` (no supplementary groups), from `/`; the environment is the caller's unless given. */
export function runAs(user: Pick<SecondUser, 'uid' | 'gid'>, file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', file, ...args],
      { cwd: '/', env, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** One GET a second user makes: to `host`:`port` (`127.0.0.1`, `::ffff:127.0.0.1`, `::1`), from `localAddress` if given. */
export interface GetRequest {
  host: string;
  port: number;
  path: string;
  /** The Host header, e.g. the listener's own `127.0.0.1:PORT`, so only the owner check can refuse. */
  hostHeader: string;
  localAddress?: string;
}

/** What the GET came to: a status with its Location and body, or the connection error's code. */
export type GetResult = { status: number; location: string | null; body: string } | { error: string };

const GET_SCRIPT = `
const http = require('node:http');
const requests = JSON.parse(process.argv[1]);
const one = (r) => new Promise((resolve) => {
  const req = http.get({ host: r.host, port: r.port, path: r.path, localAddress: r.localAddress, headers: { Host: r.hostHeader }, agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location ?? null, body }));
  });
  req.on('error', (e) => resolve({ error: e.code || e.message }));
});
(async () => {
  const out = [];
  for (const r of requests) out.push(await one(r));
  process.stdout.write(JSON.stringify(out));
})();
`;

/** Makes `requests` one after another as `user` (a Node process of theirs), and says what each came to. */
export async function getAs(user: Pick<SecondUser, 'uid' | 'gid'>, requests: GetRequest[]): Promise<GetResult[]> {
  const ran = await runAs(user, process.execPath, ['-e', GET_SCRIPT, JSON.stringify(requests)]);
  if (ran.code !== 0) throw new Error(`the second user's requests failed to run (${ran.code}): ${ran.stderr}`);
  return JSON.parse(ran.stdout) as GetResult[];
}
