import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../../src/loopback/server.js';
import { loopbackPeerUid } from '../../src/loopback/peer-owner.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, remote: string, uid: number) => `   1: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 4242 1 0 20 4 30 10 -1`;

describe('loopbackPeerUid (/proc/net/tcp)', () => {
  it('finds the uid of the peer socket, in either byte order, and nothing else', () => {
    // 0x9C40 = 40000 (the peer's port), 0x1F90 = 8080 (the listener).
    const table = [HEADER, row('0100007F:1F90', '0100007F:9C40', 0), row('0100007F:9C40', '0100007F:1F90', 1001), row('0100007F:9C41', '0100007F:1F90', 7)].join('\n');
    expect(loopbackPeerUid(8080, 40000, () => table)).toBe(1001);
    expect(loopbackPeerUid(8080, 40002, () => table)).toBeUndefined();
    expect(loopbackPeerUid(8080, 40000, () => [HEADER, row('7F000001:9C40', '7F000001:1F90', 55)].join('\n'))).toBe(55);
    expect(loopbackPeerUid(8080, 40000, () => [HEADER, row('0200007F:9C40', '0100007F:1F90', 55)].join('\n'))).toBeUndefined();
    expect(
      loopbackPeerUid(8080, 40000, () => {
        throw new Error('EACCES');
      }),
    ).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('sees this process as the owner of its own connection', async () => {
    const server = await startCallbackServer({ expectedState: 'x', timeoutMs: 5000 });
    try {
      const uid = await new Promise<number | undefined>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/nothing', agent: false }, (res) => {
          resolve(loopbackPeerUid(server.port, req.socket!.localPort!));
          res.resume();
        });
        req.on('error', reject);
        req.end();
      });
      expect(uid).toBe(process.getuid!());
    } finally {
      await server.close();
    }
  });
});

// Another user on this machine: root can become `nobody` to play that part.
const canActAsAnotherUser = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

describe.runIf(canActAsAnotherUser)('the start link against another local user (Linux, run as root)', () => {
  let server: CallbackServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('refuses the link to a process of another uid without using it up; the owner still gets the redirect', async () => {
    server = await startCallbackServer({ expectedState: 'x', timeoutMs: 10_000 });
    const link = server.offerStart('https://idp.example/authorize?state=s');
    const script = `fetch(${JSON.stringify(link)}, { redirect: 'manual' }).then((r) => console.log(r.status, r.headers.get('location')))`;
    const asNobody = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { cwd: '/' }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
      ),
    );
    expect(asNobody).toBe('403 null');
    const own = await fetch(link, { redirect: 'manual' });
    expect(own.status).toBe(302);
    expect(own.headers.get('location')).toBe('https://idp.example/authorize?state=s');
  });
});
