import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { printDoctorReport } from '../../src/commands/doctor.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { createTestContext, type TestContextOptions } from '../fakes/context.js';
import { FakeKeychain } from '../fakes/fake-keychain.js';
import { signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

const NAMES = ['config', 'discovery', 'jwks', 'clock', 'revocation', 'logout', 'keychain', 'browser', 'loopback', 'proxy', 'ca'];

let provider: TestProvider;

beforeAll(async () => {
  provider = await startTestProvider();
});
afterAll(async () => {
  await provider?.stop();
});

function providerEnv(issuer = provider.issuer): Record<string, string> {
  return { XTALK_ISSUER: issuer, XTALK_CLIENT_ID: provider.publicClient.clientId };
}

async function doctor(args: string[], opts: TestContextOptions = {}) {
  const ctx = createTestContext(opts);
  const code = await run(['doctor', ...args], ctx);
  return { ctx, code };
}

async function doctorJson(opts: TestContextOptions = {}) {
  const { ctx, code } = await doctor(['--json'], opts);
  const report = JSON.parse(ctx.stdout.text) as { checks: CheckResult[]; ok: boolean };
  const by = Object.fromEntries(report.checks.map((c) => [c.name, c])) as Record<string, CheckResult>;
  return { ctx, code, report, by };
}

/** A stand-in provider that serves a discovery document and keys with a chosen `Date` header. */
async function startFakeProvider(opts: { dateOffsetMs?: number; noDate?: boolean; hang?: boolean } = {}) {
  let server!: Server;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (opts.hang) return;
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.sendDate = false;
    if (!opts.noDate) res.setHeader('date', new Date(Date.now() + (opts.dateOffsetMs ?? 0)).toUTCString());
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(
        JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }),
      );
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: [{ kty: 'EC', alg: 'ES256', crv: 'P-256', x: 'x', y: 'y' }] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  };
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('xtalk doctor against the local provider', () => {
  it('passes every check and prints one line per check on stdout', async () => {
    const { ctx, code } = await doctor([], { env: providerEnv() });
    expect(code, ctx.stdout.text + ctx.stderr.text).toBe(0);
    const lines = ctx.stdout.text.trimEnd().split('\n');
    expect(lines).toHaveLength(NAMES.length);
    for (const line of lines) expect(line).toMatch(/^✓ /);
    expect(ctx.stdout.text).toContain(`${provider.issuer}/.well-known/openid-configuration (HTTP 200`);
    expect(ctx.stdout.text).toMatch(
      /configuration\s+issuer http:\/\/127\.0\.0\.1:\d+ \(environment\), client id xtalk-public \(environment\), no client secret/,
    );
    expect(ctx.stdout.text).toContain('file store in use');
    // Nothing for humans on stdout, no colors without a terminal.
    expect(ctx.stdout.text).not.toContain('\x1b[');
    expect(ctx.stderr.text).toBe('All checks passed.\n');
  });

  it('--json prints { checks, ok } with a stable name, status and detail per check', async () => {
    const { code, report, ctx } = await doctorJson({ env: providerEnv() });
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(NAMES);
    for (const c of report.checks) {
      expect(c.status).toBe('ok');
      expect(typeof c.detail).toBe('string');
      expect(c).not.toHaveProperty('fix');
    }
    expect(ctx.stderr.text).toBe('All checks passed.\n');
  });

  it('colors the marks when stdout is a terminal: real styles of ours, not escaped ones', async () => {
    const ctx = createTestContext({ env: providerEnv(), stderrIsTTY: true });
    ctx.io.stdoutIsTTY = true;
    (ctx.stdout as unknown as { isTTY: boolean }).isTTY = true;
    expect(await run(['doctor'], ctx), ctx.stderr.text).toBe(0);
    expect(ctx.stdout.text).toContain('\x1b[32m✓\x1b[39m configuration');
    expect(ctx.stdout.text).not.toContain('\\u001b');
  });

  it('keeps stdout free of colors even when stderr is a terminal', async () => {
    const { ctx } = await doctor([], { env: providerEnv(), stderrIsTTY: true });
    expect(ctx.stdout.text).not.toContain('\x1b[');
  });

  it('fails (exit 1) with the provider stopped, and does not check what depends on discovery', async () => {
    const gone = await startTestProvider();
    const issuer = gone.issuer;
    await gone.stop();
    const { code, report, by, ctx } = await doctorJson({ env: providerEnv(issuer) });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(by.discovery).toMatchObject({ status: 'fail', fix: expect.stringContaining('HTTPS_PROXY') });
    expect(by.discovery!.detail).toMatch(/cannot reach .*ECONNREFUSED/);
    expect(by.jwks).toMatchObject({ status: 'warn', detail: 'not checked: discovery failed' });
    expect(by.clock!.status).toBe('warn');
    expect(by.keychain!.status).toBe('ok');
    expect(ctx.stderr.text).toMatch(/✗ 1 failed, 4 with warnings \(of 11 checks\)\.\n {2}hint: /);
  });

  it('fails (exit 1) without an issuer, naming the variables to set', async () => {
    const { ctx, code } = await doctor([]);
    expect(code).toBe(1);
    expect(ctx.stdout.text).toMatch(/^✗ configuration\s+no issuer and client id configured\n\s+fix: Set XTALK_ISSUER and XTALK_CLIENT_ID/);
    expect(ctx.stdout.text).toMatch(/! discovery\s+not checked: no issuer configured/);
  });

  it('reports an invalid setting as a failed configuration check, not a crash', async () => {
    const { code, by, report } = await doctorJson({ env: { ...providerEnv(), XTALK_PORT: 'eighty' } });
    expect(code).toBe(1);
    expect(by.config).toMatchObject({ status: 'fail', detail: expect.stringContaining('Invalid port "eighty"') });
    expect(report.checks.map((c) => c.name)).toEqual(NAMES);
    expect(by.loopback).toMatchObject({ status: 'warn', detail: 'not checked: the configuration is invalid' });
  });

  it('takes the issuer from --issuer and says where each setting came from', async () => {
    const ctx = createTestContext({ env: { XTALK_CLIENT_ID: 'cli' } });
    writeFileSync(join(ctx.cwd, '.env'), `OAUTH2_CLIENT_SECRET=from-dotenv\n`);
    expect(await run(['doctor', '--json', '--issuer', provider.issuer], ctx)).toBe(0);
    const config = (JSON.parse(ctx.stdout.text) as { checks: CheckResult[] }).checks[0]!;
    expect(config.detail).toContain(`issuer ${provider.issuer} (command-line flag)`);
    expect(config.detail).toContain(`client secret set (${join(ctx.cwd, '.env')})`);
    expect(ctx.stdout.text).not.toContain('from-dotenv');
  });
});

describe('xtalk doctor: clock skew from the provider Date header', () => {
  it.each([
    [5_000, 'ok', /in step|5 s behind/],
    [-120_000, 'warn', /clock is 2 min ahead of the provider's/],
    [600_000, 'fail', /clock is 10 min behind the provider's/],
  ] as const)('a provider %i ms off is %s', async (offset, status, detail) => {
    const fake = await startFakeProvider({ dateOffsetMs: offset });
    try {
      const { code, by } = await doctorJson({ env: providerEnv(fake.issuer) });
      expect(by.clock).toMatchObject({ status });
      expect(by.clock!.detail).toMatch(detail);
      if (status !== 'ok') expect(by.clock!.fix).toContain('timedatectl');
      expect(code).toBe(status === 'fail' ? 1 : 0);
      // This provider publishes no revocation endpoint.
      expect(by.revocation).toMatchObject({ status: 'warn', fix: expect.stringContaining('XTALK_REVOCATION_ENDPOINT') });
      expect(by.jwks).toMatchObject({ status: 'ok', detail: expect.stringContaining('1 key (ES256)') });
    } finally {
      await fake.close();
    }
  });

  it('compares against the injected clock', async () => {
    const { by } = await doctorJson({ env: providerEnv(), now: () => Date.now() + 45_000 });
    expect(by.clock).toMatchObject({ status: 'warn', detail: "this machine's clock is 45 s ahead of the provider's" });
  });

  it('warns when the provider sends no Date header', async () => {
    const fake = await startFakeProvider({ noDate: true });
    try {
      const { by } = await doctorJson({ env: providerEnv(fake.issuer) });
      expect(by.clock).toMatchObject({ status: 'warn', detail: expect.stringContaining('no Date header') });
    } finally {
      await fake.close();
    }
  });

  it('gives up on a provider that never answers, within the request limit', async () => {
    const fake = await startFakeProvider({ hang: true });
    try {
      const ctx = createTestContext({ env: providerEnv(fake.issuer) });
      const started = Date.now();
      // 1 s, not less: the check's own limit (2 × 1 s + 1 s) also covers loading the provider
      // modules, which takes more than a second on a loaded machine.
      const report = await printDoctorReport(ctx, { json: true }, { requestTimeoutMs: 1000 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(report.checks.find((c) => c.name === 'discovery')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('no answer within 1 s'),
      });
    } finally {
      await fake.close();
    }
  });

  it('stops at Ctrl-C with exit 130', async () => {
    const fake = await startFakeProvider({ hang: true });
    try {
      const controller = new AbortController();
      const ctx = createTestContext({ env: providerEnv(fake.issuer), signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      expect(await run(['doctor'], ctx)).toBe(130);
      expect(ctx.stdout.text).toBe('');
    } finally {
      await fake.close();
    }
  });
});

describe('xtalk doctor: keychain', () => {
  it('does not touch the keychain with XTALK_CREDENTIAL_STORE=file', async () => {
    const keychain = new FakeKeychain().forbidCalls();
    const ctx = createTestContext({ env: { ...providerEnv(), XTALK_CREDENTIAL_STORE: 'file' } });
    const report = await printDoctorReport(ctx, { json: true }, { keychain });
    keychain.verify();
    expect(report.checks.find((c) => c.name === 'keychain')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('file store in use'),
    });
  });

  it('reads one missing entry and writes nothing when the keychain is used', async () => {
    const keychain = new FakeKeychain();
    const ctx = createTestContext({ env: providerEnv(), keychain });
    const report = await printDoctorReport(ctx, { json: true }, { keychain });
    expect(keychain.calls).toEqual([{ op: 'get', account: 'xtalk-doctor-probe' }]);
    expect(keychain.entries.size).toBe(0);
    expect(report.checks.find((c) => c.name === 'keychain')).toMatchObject({ status: 'ok', detail: expect.stringContaining('answers') });
  });

  it('says what the key cache does with the key (Linux: kept N s in the kernel session keyring, or off)', async () => {
    const keychain = new FakeKeychain();
    const detail = async (env: Record<string, string>, platform: NodeJS.Platform) => {
      const ctx = Object.assign(createTestContext({ env: { ...providerEnv(), ...env }, keychain }), { platform });
      const report = await printDoctorReport(ctx, { json: true }, { keychain });
      return report.checks.find((c) => c.name === 'keychain')?.detail;
    };
    expect(await detail({ XTALK_KEY_CACHE_SECONDS: '120' }, 'linux')).toMatch(
      /answers \(\d+ ms\); a key read is kept 120 s in the kernel session keyring \(key cache\)$/,
    );
    expect(await detail({ XTALK_KEY_CACHE_SECONDS: '0' }, 'linux')).toMatch(
      /; key cache off \(key_cache_seconds 0\): every `xtalk token` asks the keychain$/,
    );
    expect(await detail({}, 'darwin')).toMatch(/answers \(\d+ ms\)$/);
  });

  it('warns when the keychain is unavailable and xtalk would fall back to the key file', async () => {
    const keychain = new FakeKeychain('unavailable');
    const report = await printDoctorReport(createTestContext({ env: providerEnv(), keychain }), { json: true }, { keychain });
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'keychain')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('no D-Bus session bus'),
    });
  });

  it('fails when the keychain is required, and gives up on a hanging one at the time limit', async () => {
    const keychain = new FakeKeychain('hang');
    const ctx = createTestContext({ env: { ...providerEnv(), XTALK_CREDENTIAL_STORE: 'keychain' }, keychain });
    const report = await printDoctorReport(ctx, { json: true }, { keychain, keychainTimeoutMs: 200 });
    keychain.verify();
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'keychain')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('timed out after 200 ms'),
      fix: expect.stringContaining('XTALK_CREDENTIAL_STORE=file'),
    });
  });
});

describe('xtalk doctor: browser, loopback port, proxy and CA', () => {
  it('warns on an SSH session without a display and suggests the other login modes', async () => {
    const { by, code } = await doctorJson({ env: { ...providerEnv(), DISPLAY: undefined, SSH_CONNECTION: '10.0.0.2 5000 10.0.0.1 22' } });
    expect(code).toBe(0);
    expect(by.browser).toMatchObject({ status: 'warn', detail: 'no browser can be opened here: this is an SSH session' });
    expect(by.browser!.fix).toMatch(/--no-browser.*--manual.*--device/);
  });

  it('finds the Windows browser on WSL', async () => {
    const { by } = await doctorJson({
      env: { ...providerEnv(), DISPLAY: undefined },
      host: { procVersion: 'Linux version 5.15.167.4-microsoft-standard-WSL2', wslview: '/usr/bin/wslview' },
    });
    expect(by.browser).toMatchObject({ status: 'ok', detail: 'WSL: the Windows browser through /usr/bin/wslview' });
  });

  it('checks that BROWSER names a program', async () => {
    const { by } = await doctorJson({ env: { ...providerEnv(), BROWSER: '/nonexistent/firefox --new-window' } });
    expect(by.browser).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('/nonexistent/firefox'),
      fix: expect.stringContaining('BROWSER'),
    });
    const found = await doctorJson({ env: { ...providerEnv(), XTALK_BROWSER: `"${process.execPath}" browser.js` } });
    expect(found.by.browser).toMatchObject({ status: 'ok', detail: `XTALK_BROWSER: ${process.execPath}` });
  });

  it('fails when the configured loopback port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const { by, code } = await doctorJson({ env: { ...providerEnv(), XTALK_PORT: String(port) } });
      expect(code).toBe(1);
      expect(by.loopback).toMatchObject({
        status: 'fail',
        detail: `127.0.0.1:${port} is already in use`,
        fix: expect.stringContaining('--port'),
      });
    } finally {
      blocker.close();
    }
  });

  it('reports proxy variables with credentials hidden, and where the issuer goes', async () => {
    const { by } = await doctorJson({
      env: {
        ...providerEnv('https://account.iottalk.example'),
        https_proxy: 'http://alice:pa55w0rd@proxy.example:3128',
        NO_PROXY: '.internal.example',
      },
    });
    expect(by.proxy).toMatchObject({
      status: 'ok',
      detail:
        'https_proxy=http://***@proxy.example:3128, NO_PROXY=.internal.example; https://account.iottalk.example goes through http://***@proxy.example:3128 (https_proxy)',
    });
    const bypass = await doctorJson({
      env: { ...providerEnv('https://account.iottalk.example'), HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: 'iottalk.example' },
    });
    expect(bypass.by.proxy!.detail).toContain('https://account.iottalk.example bypasses the proxy (NO_PROXY)');
    const bare = await doctorJson({ env: { ...providerEnv('https://account.iottalk.example'), HTTPS_PROXY: 'proxy.example:3128' } });
    expect(bare.by.proxy!.detail).toContain('goes through http://proxy.example:3128 (HTTPS_PROXY)');
    const broken = await doctorJson({ env: { ...providerEnv(), HTTP_PROXY: 'proxy.example 3128' } });
    expect(broken.code).toBe(1);
    expect(broken.by.proxy).toMatchObject({
      status: 'fail',
      detail: 'HTTP_PROXY is not a URL: http://proxy.example 3128',
      fix: expect.stringContaining('HTTPS_PROXY'),
    });
    expect(broken.by.discovery).toMatchObject({ status: 'warn', detail: 'not checked: the proxy settings are unusable' });
  });

  it('checks NODE_EXTRA_CA_CERTS and warns about disabled certificate checks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-ca-'));
    const pem = join(dir, 'corp-ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect((await doctorJson({ env: { ...providerEnv(), NODE_EXTRA_CA_CERTS: pem } })).by.ca).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('1 extra CA certificate'),
    });
    const missing = await doctorJson({ env: { ...providerEnv(), NODE_EXTRA_CA_CERTS: join(dir, 'nope.pem') } });
    expect(missing.code).toBe(1);
    expect(missing.by.ca).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot be read: ENOENT') });
    const insecure = await doctorJson({ env: { ...providerEnv(), NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
    expect(insecure.by.ca!.status).toBe('warn');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('xtalk doctor: the stored session', () => {
  it('reports the selected account, its expiry and whether it renews; nothing before anyone signed in', async () => {
    const fresh = await doctorJson({ env: providerEnv() });
    expect(fresh.by.session).toBeUndefined();
    const named = await doctor(['--json', '--account', 'alice'], { env: providerEnv() });
    const namedReport = JSON.parse(named.ctx.stdout.text) as { checks: CheckResult[] };
    expect(namedReport.checks.find((c) => c.name === 'session')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('no stored accounts'),
    });

    const env = {
      XTALK_ISSUER: provider.issuer,
      XTALK_CLIENT_ID: provider.confidentialClient.clientId,
      XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    };
    const login = createTestContext({ env, browser: (url) => signInWithHttp(url, { login: 'doc-user' }) });
    expect(await run(['login'], login)).toBe(0);
    await Promise.all(login.browserRuns);

    const signedIn = await doctorJson({ env, home: login.home });
    expect(signedIn.by.session).toMatchObject({ status: 'ok' });
    expect(signedIn.by.session!.detail).toMatch(
      /^doc-user at http:\/\/127\.0\.0\.1:\d+; access token expires in 60 min; a refresh token renews it$/,
    );

    const later = await doctorJson({ env, home: login.home, now: () => Date.now() + 2 * 3600_000 });
    expect(later.by.session!.detail).toContain('access token expired');
    expect(later.by.session!.status).toBe('ok');

    const unknown = await doctor(['--json', '--account', 'nobody'], { env, home: login.home });
    const report = JSON.parse(unknown.ctx.stdout.text) as { checks: CheckResult[] };
    expect(report.checks.find((c) => c.name === 'session')).toMatchObject({ status: 'warn', fix: expect.stringContaining('xtalk status') });
  });
});
