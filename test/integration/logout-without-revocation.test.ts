/**
 * Logout at providers without RFC 7009, against the local provider with its revocation endpoint
 * hidden from discovery (the endpoint stays live, unused) — with and without an end_session_endpoint:
 * what `xtalk logout` ends there, what it says, and what `xtalk doctor` says it can end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { createTestContext } from '../fakes/context.js';
import { heldTokens } from '../helpers/held-tokens.js';
import { CookieJar, followStartLink, signInWithHttp, signOutWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type KoaMiddleware, type TestProvider } from '../provider/provider.js';

/** Revocation and end-session (the default provider); `revocationDown` makes its revocation answer 500. */
let full: TestProvider;
let revocationDown = false;
/** Only end-session. */
let endOnly: TestProvider;
/** Neither. */
let neither: TestProvider;
const failingRevocation: KoaMiddleware = async (ctx, next) => {
  if (ctx.path !== '/token/revocation' || !revocationDown) return next();
  ctx.status = 500;
  ctx.body = 'down';
};
beforeAll(async () => {
  [full, endOnly, neither] = await Promise.all([
    startTestProvider({ middleware: [failingRevocation] }),
    startTestProvider({ hideRevocationEndpoint: true }),
    startTestProvider({ hideRevocationEndpoint: true, hideEndSessionEndpoint: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([full?.stop(), endOnly?.stop(), neither?.stop()]);
});

const envFor = (p: TestProvider, extra: Record<string, string> = {}) => ({
  XTALK_ISSUER: p.issuer,
  XTALK_CLIENT_ID: p.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: p.confidentialClient.clientSecret,
  ...extra,
});

/**
 * One machine at provider `p`: an XTALK_HOME and a browser that keeps its cookies, signs in as
 * `login`, and on logout follows the one-time link to the provider and confirms the sign-out
 * (`signOut: false`: opens nothing, so the provider never confirms).
 */
function machine(p: TestProvider) {
  const jar = new CookieJar();
  let home: string | undefined;
  const endSessions: URL[] = [];
  const xtalk = async (args: string[], opts: { login?: string; seen?: string[]; signOut?: boolean; env?: Record<string, string> } = {}) => {
    const ctx = createTestContext({
      env: envFor(p, opts.env),
      ...(home ? { home } : {}),
      browser: async (url) => {
        if (args[0] === 'logout') {
          if (opts.signOut === false) return undefined;
          const res = await fetch(url, { redirect: 'manual' });
          await res.arrayBuffer();
          const target = new URL(res.headers.get('location') ?? 'about:blank');
          endSessions.push(target);
          return signOutWithHttp(target.href, { jar });
        }
        return signInWithHttp(await followStartLink(url), { login: opts.login ?? 'nobody', jar, seen: opts.seen });
      },
    });
    home = ctx.home;
    const code = await run(args, ctx);
    await Promise.all(ctx.browserRuns);
    return { code, stderr: ctx.stderr.text, opened: ctx.opened };
  };
  const login = async (name: string) => {
    const seen: string[] = [];
    const res = await xtalk(['login'], { login: name, seen });
    expect(res.code, res.stderr).toBe(0);
    return seen;
  };
  return { xtalk, login, endSessions, home: () => home! };
}

describe('logout at a provider with end_session_endpoint but no revocation endpoint', () => {
  it('`xtalk logout` keeps the tokens (exit 5) and names `xtalk logout --browser`, saying what --force leaves alive', async () => {
    const m = machine(endOnly);
    await m.login('ada');
    const tokens = await heldTokens(m.home());
    const out = await m.xtalk(['logout']);
    expect(out.code).toBe(5);
    expect(out.stderr).toContain('publishes no revocation endpoint');
    expect(out.stderr).toMatch(/hint: The provider can end its session instead: `xtalk logout --browser` signs you out there/);
    expect(out.stderr).toContain('`xtalk logout --force` deletes the tokens here only: they stay valid at the provider until they expire.');
    expect(out.opened).toEqual([]);
    const all = await m.xtalk(['logout', '--all']);
    expect(all.code).toBe(5);
    expect(all.stderr).toMatch(/hint: The provider can end its session instead: `xtalk logout --all --browser`/);
    expect(await heldTokens(m.home())).toEqual(tokens);
  });

  it('`xtalk logout --browser` ends the session first, then deletes the tokens here, without claiming they were revoked', async () => {
    const m = machine(endOnly);
    await m.login('bea');
    const out = await m.xtalk(['logout', '--browser']);
    expect(out.code, out.stderr).toBe(0);
    expect(m.endSessions).toHaveLength(1);
    expect(m.endSessions[0]!.pathname).toBe('/session/end');
    expect(out.stderr).toContain(`✓ Signed out of ${endOnly.issuer} in the browser\n`);
    expect(out.stderr).toMatch(/✓ Logged out bea from \S+; \d tokens? deleted after the sign-out there/);
    expect(out.stderr).toMatch(/were deleted here without being revoked\. Ending its session ends them at many providers/);
    expect(out.stderr).not.toMatch(/tokens? revoked|tokens are revoked/);
    // The sign-out happened before the deletion: the order of the lines on stderr.
    expect(out.stderr.indexOf('Signed out of')).toBeLessThan(out.stderr.indexOf('Logged out bea'));
    expect(await heldTokens(m.home())).toEqual([]);
    // The provider's session is gone: the next login asks who it is.
    expect(await m.login('bea')).toEqual(['login-form']);
  });

  it('keeps the tokens (exit 5) when the provider never confirms the sign-out; the hint keeps --browser; --browser --force deletes them', async () => {
    const m = machine(endOnly);
    await m.login('cy');
    const tokens = await heldTokens(m.home());
    const out = await m.xtalk(['logout', '--browser'], { signOut: false, env: { XTALK_TIMEOUT: '1' } });
    expect(out.code).toBe(5);
    expect(out.stderr).toMatch(/Timed out after 1 s waiting for the sign-out at the provider to finish\./);
    expect(out.stderr).toMatch(/did not confirm the sign-out, so the \d token\(s\) of cy were kept/);
    expect(out.stderr).toMatch(/hint: Nothing was deleted\. Run `xtalk logout --browser` again .* or `xtalk logout --browser --force`/);
    expect(await heldTokens(m.home())).toEqual(tokens);

    const forced = await m.xtalk(['logout', '--browser', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('without revoking them (--force)');
    expect(forced.stderr).toContain(`✓ Signed out of ${endOnly.issuer} in the browser\n`);
    expect(await heldTokens(m.home())).toEqual([]);
  });
});

describe('logout at a provider with neither endpoint', () => {
  it('exits 5 saying that --force deletes here only; with --browser it says the browser session cannot be ended either', async () => {
    const m = machine(neither);
    await m.login('dan');
    const tokens = await heldTokens(m.home());
    const plain = await m.xtalk(['logout']);
    expect(plain.code).toBe(5);
    expect(plain.stderr).toContain(
      'Otherwise `xtalk logout --force` deletes the tokens here only: they stay valid at the provider until they expire.',
    );
    expect(plain.stderr).not.toContain('--browser');
    const browser = await m.xtalk(['logout', '--browser']);
    expect(browser.code).toBe(5);
    expect(browser.stderr).toContain('The provider publishes no end_session_endpoint either: sign out on its web page');
    expect(await heldTokens(m.home())).toEqual(tokens);

    const forced = await m.xtalk(['logout', '--browser', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('publishes no end_session_endpoint, so xtalk cannot end its browser session.');
    expect(forced.stderr).not.toContain('the tokens are revoked');
    expect(forced.opened).toEqual([]);
    expect(await heldTokens(m.home())).toEqual([]);
  });
});

describe('logout --browser at a provider that has a revocation endpoint', () => {
  it('a failed revocation keeps the tokens (exit 5), and the hint keeps --browser (and --all)', async () => {
    const m = machine(full);
    await m.login('eve');
    const tokens = await heldTokens(m.home());
    revocationDown = true;
    try {
      const one = await m.xtalk(['logout', '--browser']);
      expect(one.code).toBe(5);
      expect(one.stderr).toContain('hint: Retry later, or run `xtalk logout --browser --force`');
      const all = await m.xtalk(['logout', '--all', '--print-sign-out-url']);
      expect(all.code).toBe(5);
      expect(all.stderr).toContain('hint: Retry later, or run `xtalk logout --all --print-sign-out-url --force`');
      // The old name still works, says it is deprecated (one line), and the hint names the new one.
      const old = await m.xtalk(['logout', '--no-browser']);
      expect(old.code).toBe(5);
      expect(old.stderr.split('\n').filter((l) => l.includes('deprecated'))).toEqual([
        '! --no-browser is deprecated for logout: use --print-sign-out-url, which does the same.',
      ]);
      expect(old.stderr).toContain('hint: Retry later, or run `xtalk logout --print-sign-out-url --force`');
      expect(m.endSessions).toEqual([]);
    } finally {
      revocationDown = false;
    }
    expect(await heldTokens(m.home())).toEqual(tokens);
  });
});

describe('xtalk doctor: what logout can end at this provider, in one line', () => {
  const doctorLogout = async (p: TestProvider) => {
    const text = createTestContext({ env: envFor(p) });
    await run(['doctor'], text);
    const json = createTestContext({ env: envFor(p) });
    await run(['doctor', '--json'], json);
    const check = (JSON.parse(json.stdout.text) as { checks: CheckResult[] }).checks.find((c) => c.name === 'logout');
    const lines = text.stdout.text.split('\n').filter((l) => /^. logout /.test(l));
    return { check, lines };
  };

  it('revocation and end-session: revokes the tokens and can end the browser session', async () => {
    const { check, lines } = await doctorLogout(full);
    expect(check).toEqual({
      name: 'logout',
      status: 'ok',
      detail: 'revokes the tokens (RFC 7009); `--browser` also ends the browser session',
    });
    expect(lines).toEqual([
      expect.stringMatching(/^✓ logout +revokes the tokens \(RFC 7009\); `--browser` also ends the browser session$/),
    ]);
  });

  it('only end-session: names `xtalk logout --browser`, and that --force only deletes here', async () => {
    const { check, lines } = await doctorLogout(endOnly);
    expect(check).toMatchObject({ name: 'logout', status: 'warn' });
    expect(check!.detail).toBe(
      "no revocation endpoint: `xtalk logout --browser` ends the provider's session (and with it the tokens at many providers), then deletes them here; `--force` only deletes them here",
    );
    expect(lines).toEqual([`! logout               ${check!.detail}`]);
  });

  it('neither: cannot end tokens or session; --force only deletes here', async () => {
    const { check, lines } = await doctorLogout(neither);
    expect(check).toMatchObject({ name: 'logout', status: 'warn' });
    expect(check!.detail).toMatch(
      /^no revocation or end_session endpoint: xtalk cannot end the tokens or the session at the provider; `xtalk logout --force` only deletes them here/,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^! logout +no revocation or end_session endpoint/);
  });
});
