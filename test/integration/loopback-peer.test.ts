/**
 * Another local user against xtalk's loopback listener, for real: a second uid (useradd + setpriv)
 * connects from 127.0.0.2 and from an IPv6 socket (`::ffff:127.0.0.1`) — connections that
 * /proc/net/tcp alone never showed, so they used to get the start link's redirect — to the start
 * link, the sign-in callback and the sign-out listener of `logout --browser`. Each gets a 403 that
 * says why, the user is warned once on stderr, and the link still works for the user who runs xtalk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import type { XtalkError } from '../../src/errors.js';
import { startCallbackServer } from '../../src/loopback/server.js';
import { createTestContext } from '../fakes/context.js';
import { CookieJar, followStartLink, signInWithHttp, signOutWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';
import { canActAsAnotherUser, getAs, secondUser, type GetRequest, type GetResult, type SecondUser } from '../helpers/second-user.js';

const OTHER_USER_PAGE = 'This page belongs to another user of this machine';
const WARNING =
  /! xtalk's listener on 127\.0\.0\.1:\d+ refused a connection from another user of this machine \(uid \d+\)\. Only the user who runs `xtalk` may open the pages of its local listener/g;

/** The requests another user makes for `url` on the listener: from 127.0.0.2, and from an IPv6 socket to ::ffff:127.0.0.1. */
function attacks(url: string): GetRequest[] {
  const u = new URL(url);
  const base = { port: Number(u.port), path: u.pathname + u.search, hostHeader: u.host };
  return [
    { ...base, host: '127.0.0.1', localAddress: '127.0.0.2' },
    { ...base, host: '::ffff:127.0.0.1' },
  ];
}

function expectRefused(results: GetResult[]): void {
  expect(results).toHaveLength(2);
  for (const r of results) {
    expect(r).toMatchObject({ status: 403, location: null });
    expect((r as { body: string }).body).toContain(OTHER_USER_PAGE);
  }
}

describe.runIf(canActAsAnotherUser)('the loopback listener against another local user (root, useradd, setpriv)', () => {
  let other: SecondUser;
  let provider: TestProvider;
  beforeAll(async () => {
    other = secondUser('xtalkh1');
    provider = await startTestProvider();
  });
  afterAll(async () => {
    await provider?.stop();
    other?.remove();
  });

  it('the start link and the callback: 403 from 127.0.0.2 and from IPv6, ::1 does not reach it; the owner signs in afterwards', async () => {
    const refusals: XtalkError[] = [];
    const server = await startCallbackServer({ expectedState: 'st', timeoutMs: 20_000, onRefusedPeer: (e) => refusals.push(e) });
    try {
      const link = server.offerStart('https://idp.example/authorize?state=st');
      const waiting = server.waitForCallback();
      const callback = `${server.redirectUri}?state=st&code=attackers-code`;
      const results = await getAs(other, [
        ...attacks(link),
        ...attacks(callback),
        { host: '::1', port: server.port, path: new URL(link).pathname, hostHeader: `127.0.0.1:${server.port}` },
      ]);
      expectRefused(results.slice(0, 2));
      expectRefused(results.slice(2, 4));
      // The listener binds 127.0.0.1 only: an IPv6 socket reaches it through the IPv4-mapped address, ::1 not at all.
      expect(results[4]).toEqual({ error: 'ECONNREFUSED' });
      expect(refusals.map((e) => [e.code, e.facts.reason, e.facts.peerUid])).toEqual(
        Array(4).fill(['LOOPBACK_PEER_REFUSED', 'other-user', other.uid]),
      );

      // Nothing was used up: the link redirects its owner, and the owner's callback is the one taken.
      const own = await fetch(link, { redirect: 'manual' });
      expect(own.status).toBe(302);
      expect(own.headers.get('location')).toBe('https://idp.example/authorize?state=st');
      const ownCallback = fetch(`${server.redirectUri}?state=st&code=owners-code`);
      const arrived = await waiting;
      expect(arrived.url.searchParams.get('code')).toBe('owners-code');
      await arrived.respond({ ok: true, title: 'Signed in', message: 'ok' });
      expect((await ownCallback).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  const env = () => ({
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
  });

  it('xtalk login and logout --browser: the other user is refused first, the user is warned once, both finish', async () => {
    const jar = new CookieJar();
    const seenByOther: GetResult[] = [];
    // "The browser": another user opens the link first (read from `ps`), then the real browser does.
    const login = createTestContext({
      env: env(),
      browser: async (url) => {
        seenByOther.push(...(await getAs(other, [...attacks(url), ...attacks(url)])));
        return signInWithHttp(await followStartLink(url), { login: 'alice', jar });
      },
    });
    expect(await run(['login'], login), login.stderr.text).toBe(0);
    await Promise.all(login.browserRuns);
    expectRefused(seenByOther.splice(0, 2));
    expectRefused(seenByOther.splice(0, 2));
    expect(login.stderr.text).toContain('as alice');
    expect(login.stderr.text.match(WARNING)).toHaveLength(1);

    const logout = createTestContext({
      env: env(),
      home: login.home,
      browser: async (url) => {
        seenByOther.push(...(await getAs(other, attacks(url))));
        const res = await fetch(url, { redirect: 'manual' });
        await res.arrayBuffer();
        return signOutWithHttp(res.headers.get('location')!, { jar });
      },
    });
    expect(await run(['logout', '--browser'], logout), logout.stderr.text).toBe(0);
    await Promise.all(logout.browserRuns);
    // The end-session URL (with the ID token) never reached the other user.
    expectRefused(seenByOther.splice(0, 2));
    expect(logout.stderr.text).toContain(`✓ Signed out of ${provider.issuer} in the browser too`);
    expect(logout.stderr.text.match(WARNING)).toHaveLength(1);
  });
});
