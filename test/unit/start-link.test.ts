import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../../src/loopback/server.js';
import { loopbackPeerUid, parseProcAddress, type ReadTable } from '../../src/loopback/peer-owner.js';
import type { XtalkError } from '../../src/errors.js';
import { canActAsAnotherUser, runAs } from '../helpers/second-user.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, remote: string, uid: number, state = '01') =>
  `   1: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000  ${uid}        0 4242 1 0 20 4 30 10 -1`;
const tables =
  (tcp: string[], tcp6: string[] = []): ReadTable =>
  (name) =>
    [HEADER, ...(name === 'tcp' ? tcp : tcp6)].join('\n');
// The listener 127.0.0.1:8080 (0x1F90) and a client port 40000 (0x9C40), as Node names the ends on the listener's side.
const ends = (remoteAddress: string, remotePort = 40000) => ({ localAddress: '127.0.0.1', localPort: 8080, remoteAddress, remotePort });
// The same addresses as a little-endian machine prints them (IPv6: four 32-bit words, each little-endian).
const LE = {
  v4: '0100007F',
  v4two: '0200007F',
  mapped: '0000000000000000FFFF00000100007F',
  mappedTwo: '0000000000000000FFFF00000200007F',
  v6one: '00000000000000000000000001000000',
};

describe('parseProcAddress (/proc/net/tcp and tcp6 addresses)', () => {
  it('reads IPv4 in either byte order', () => {
    expect(parseProcAddress('0100007F', 'LE')).toBe('127.0.0.1');
    expect(parseProcAddress('7F000001', 'BE')).toBe('127.0.0.1');
    expect(parseProcAddress('0200007F', 'LE')).toBe('127.0.0.2');
    expect(parseProcAddress('7F000002', 'BE')).toBe('127.0.0.2');
  });

  it('reads IPv6 as four host-order words; an IPv4-mapped address is the IPv4 one', () => {
    expect(parseProcAddress(LE.mapped, 'LE')).toBe('127.0.0.1');
    expect(parseProcAddress('00000000000000000000FFFF7F000001', 'BE')).toBe('127.0.0.1');
    expect(parseProcAddress(LE.v6one, 'LE')).toBe('::1');
    expect(parseProcAddress('00000000000000000000000000000001', 'BE')).toBe('::1');
    expect(parseProcAddress('000080FE00000000FF005450B6AC2BFE', 'LE')).toBe('fe80::5054:ff:fe2b:acb6');
    expect(parseProcAddress('00000000000000000000000000000000', 'LE')).toBe('::');
  });

  it('nothing for what is not an address', () => {
    for (const bad of ['', '0100007', '0100007G', '0100007F00', 'x'.repeat(32)]) expect(parseProcAddress(bad, 'LE')).toBeUndefined();
  });
});

describe('loopbackPeerUid (the owner of the client end, in tcp and tcp6)', () => {
  it('finds the client socket by the full address pair, not the listener’s own socket', () => {
    // The listener's accepted socket (uid 0) lists the same ports the other way round.
    const read = tables([
      row(`${LE.v4}:1F90`, `${LE.v4}:9C40`, 0),
      row(`${LE.v4}:9C40`, `${LE.v4}:1F90`, 1001),
      row(`${LE.v4}:9C41`, `${LE.v4}:1F90`, 7),
    ]);
    expect(loopbackPeerUid(ends('127.0.0.1'), read, 'LE')).toBe(1001);
    expect(loopbackPeerUid(ends('127.0.0.1', 40002), read, 'LE')).toBeUndefined();
    expect(loopbackPeerUid(ends('127.0.0.1'), tables([row('7F000001:9C40', '7F000001:1F90', 55)]), 'BE')).toBe(55);
  });

  it('finds a client on 127.0.0.2 (once let through as "not found")', () => {
    const read = tables([row(`${LE.v4two}:9C40`, `${LE.v4}:1F90`, 55)]);
    expect(loopbackPeerUid(ends('127.0.0.2'), read, 'LE')).toBe(55);
    // The same ports from another address are another connection.
    expect(loopbackPeerUid(ends('127.0.0.1'), read, 'LE')).toBeUndefined();
  });

  it('finds an IPv6 socket connected to ::ffff:127.0.0.1 in tcp6, whatever Node calls its address', () => {
    const read = tables([], [row(`${LE.mapped}:9C40`, `${LE.mapped}:1F90`, 56), row(`${LE.mappedTwo}:9C41`, `${LE.mapped}:1F90`, 57)]);
    expect(loopbackPeerUid(ends('127.0.0.1'), read, 'LE')).toBe(56);
    expect(loopbackPeerUid(ends('::ffff:127.0.0.1'), read, 'LE')).toBe(56);
    expect(loopbackPeerUid(ends('::ffff:127.0.0.2', 40001), read, 'LE')).toBe(57);
    expect(
      loopbackPeerUid(
        { localAddress: '::1', localPort: 8080, remoteAddress: '::1', remotePort: 40000 },
        tables([], [row(`${LE.v6one}:9C40`, `${LE.v6one}:1F90`, 58)]),
        'LE',
      ),
    ).toBe(58);
  });

  it('skips TIME_WAIT rows (shown with uid 0) and unreadable tables; nothing found is undefined', () => {
    const timeWait = tables([row(`${LE.v4two}:9C40`, `${LE.v4}:1F90`, 0, '06'), row(`${LE.v4two}:9C40`, `${LE.v4}:1F90`, 1001)]);
    expect(loopbackPeerUid(ends('127.0.0.2'), timeWait, 'LE')).toBe(1001);
    expect(loopbackPeerUid(ends('127.0.0.2'), tables([row(`${LE.v4two}:9C40`, `${LE.v4}:1F90`, 0, '06')]), 'LE')).toBeUndefined();
    const onlyTcp6: ReadTable = (name) => {
      if (name === 'tcp') throw new Error('EACCES');
      return [HEADER, row(`${LE.mapped}:9C40`, `${LE.mapped}:1F90`, 56)].join('\n');
    };
    expect(loopbackPeerUid(ends('127.0.0.1'), onlyTcp6, 'LE')).toBe(56);
    const none: ReadTable = () => {
      throw new Error('ENOENT');
    };
    expect(loopbackPeerUid(ends('127.0.0.1'), none, 'LE')).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('sees this process as the owner of its own connection', async () => {
    const server = await startCallbackServer({ expectedState: 'x', timeoutMs: 5000 });
    try {
      const uid = await new Promise<number | undefined>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/nothing', agent: false }, (res) => {
          resolve(
            loopbackPeerUid({
              localAddress: '127.0.0.1',
              localPort: server.port,
              remoteAddress: '127.0.0.1',
              remotePort: req.socket!.localPort!,
            }),
          );
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

describe('the listener asks the loopback rule on every path', () => {
  let server: CallbackServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('on Linux, a connection whose owner no table shows gets 403 on the start link and the callback; the wait goes on', async () => {
    const refusals: XtalkError[] = [];
    server = await startCallbackServer({
      expectedState: 'st',
      timeoutMs: 10_000,
      onRefusedPeer: (e) => refusals.push(e),
      peerLookup: { platform: 'linux', readTable: tables([]) },
    });
    const link = server.offerStart('https://idp.example/authorize?state=st');
    let settled = false;
    void server.waitForCallback().then(
      () => (settled = true),
      () => (settled = true),
    );
    for (const url of [link, `${server.redirectUri}?state=st&code=c`]) {
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status, url).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('could not tell which user of this machine opened this page');
    }
    expect(refusals.map((e) => [e.code, e.facts.reason, e.facts.peerUid])).toEqual(
      Array(2).fill(['LOOPBACK_PEER_REFUSED', 'owner-unknown', undefined]),
    );
    expect(refusals[0]!.hint).toMatch(/Only the user who runs `xtalk` may open the pages of its local listener/);
    expect(settled).toBe(false);
  });

  it('the sign-out listener (logout --browser) the same; refusals that hand out nothing do not read the tables', async () => {
    let reads = 0;
    const refusals: XtalkError[] = [];
    server = await startCallbackServer({
      path: '/logout-callback',
      expectedState: 'st',
      timeoutMs: 10_000,
      onRefusedPeer: (e) => refusals.push(e),
      peerLookup: { platform: 'linux', readTable: (name) => (reads++, tables([])(name)) },
    });
    const link = server.offerStart('https://idp.example/session/end?id_token_hint=secret');
    for (const url of [`http://127.0.0.1:${server.port}/logout-callback?state=wrong`, `http://127.0.0.1:${server.port}/elsewhere`]) {
      expect((await fetch(url)).status).toBeGreaterThanOrEqual(400);
    }
    expect(reads).toBe(0);
    for (const url of [link, `${server.redirectUri}?state=st`]) {
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status, url).toBe(403);
      expect(await res.text()).not.toContain('secret');
    }
    expect(reads).toBeGreaterThan(0);
    expect(refusals).toHaveLength(2);
  });

  it('where the system cannot tell (not Linux), the same requests are answered as before', async () => {
    server = await startCallbackServer({
      expectedState: 'st',
      timeoutMs: 10_000,
      peerLookup: { platform: 'darwin', readTable: tables([]) },
    });
    const link = server.offerStart('https://idp.example/authorize?state=st');
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const waiting = server.waitForCallback();
    const cb = fetch(`${server.redirectUri}?state=st&code=c`);
    const callback = await waiting;
    expect(callback.url.searchParams.get('code')).toBe('c');
    await callback.respond({ ok: true, title: 'ok', message: 'ok' });
    expect((await cb).status).toBe(200);
  });
});

describe.runIf(canActAsAnotherUser)('the start link against another local user (Linux, run as root)', () => {
  let server: CallbackServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('refuses the link to a process of another uid without using it up; the owner still gets the redirect', async () => {
    server = await startCallbackServer({ expectedState: 'x', timeoutMs: 10_000 });
    const link = server.offerStart('https://idp.example/authorize?state=s');
    const script = `fetch(${JSON.stringify(link)}, { redirect: 'manual' }).then((r) => console.log(r.status, r.headers.get('location')))`;
    const asNobody = await runAs({ uid: 65534, gid: 65534 }, process.execPath, ['-e', script]);
    expect(asNobody.stdout.trim(), asNobody.stderr).toBe('403 null');
    const own = await fetch(link, { redirect: 'manual' });
    expect(own.status).toBe(302);
    expect(own.headers.get('location')).toBe('https://idp.example/authorize?state=s');
  });
});
