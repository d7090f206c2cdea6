import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as oidc from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { approveDeviceWithHttp, signInWithHttp } from '../provider/http-browser.js';
import { startTestProvider, type TestProvider } from '../provider/provider.js';

const BROWSER_SCRIPT = fileURLToPath(new URL('../e2e/chromium-browser.mjs', import.meta.url));
const SCOPE = 'openid profile email offline_access';

interface CallbackListener {
  redirectUri: string;
  received: Promise<URL>;
  close(): Promise<void>;
}

/** One-shot loopback listener standing in for xtalk's callback server. */
async function listenForCallback(): Promise<CallbackListener> {
  let resolveReceived!: (url: URL) => void;
  const received = new Promise<URL>((resolve) => (resolveReceived = resolve));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
    res.end('<!DOCTYPE html><html><head><title>Signed in</title></head><body><h1>Signed in</h1></body></html>');
    if (url.pathname === '/callback') resolveReceived(url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function discover(provider: TestProvider, kind: 'confidential' | 'public'): Promise<oidc.Configuration> {
  const execute = [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks];
  return kind === 'confidential'
    ? oidc.discovery(
        new URL(provider.issuer),
        provider.confidentialClient.clientId,
        undefined,
        oidc.ClientSecretBasic(provider.confidentialClient.clientSecret),
        { execute },
      )
    : oidc.discovery(new URL(provider.issuer), provider.publicClient.clientId, undefined, oidc.None(), { execute });
}

async function startAuthorization(config: oidc.Configuration, redirectUri: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const redeem = (callbackUrl: URL) =>
    oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state });
  return { url, redeem };
}

function runChromium(args: string[], logFile: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BROWSER_SCRIPT, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, XTALK_TEST_BROWSER_LOG: logFile },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('test provider', () => {
  let provider: TestProvider;
  let hidden: TestProvider;
  const listeners: CallbackListener[] = [];

  beforeAll(async () => {
    provider = await startTestProvider({ users: { 'alice-2': { preferred_username: 'alice' } } });
    hidden = await startTestProvider({ hideRevocationEndpoint: true });
  });
  afterAll(async () => {
    await provider?.stop();
    await hidden?.stop();
  });
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  async function callbackListener() {
    const listener = await listenForCallback();
    listeners.push(listener);
    return listener;
  }

  it('serves discovery, with or without revocation_endpoint', async () => {
    const shown = (await discover(provider, 'confidential')).serverMetadata();
    expect(shown.issuer).toBe(provider.issuer);
    expect(shown.revocation_endpoint).toBe(`${provider.issuer}/token/revocation`);
    expect(shown.introspection_endpoint).toBe(`${provider.issuer}/token/introspection`);
    expect(shown.authorization_response_iss_parameter_supported).toBe(true);
    expect(shown.code_challenge_methods_supported).toEqual(['S256']);

    const withoutRevocation = (await discover(hidden, 'confidential')).serverMetadata();
    expect(withoutRevocation.revocation_endpoint).toBeUndefined();
    const live = await fetch(`${hidden.issuer}/token/revocation`, { method: 'POST' });
    expect(live.status).not.toBe(404);
  });

  for (const kind of ['confidential', 'public'] as const) {
    it(`runs code + PKCE, refresh rotation, introspection and revocation (${kind} client)`, async () => {
      const config = await discover(provider, kind);
      const listener = await callbackListener();
      const { url, redeem } = await startAuthorization(config, listener.redirectUri);

      const returned = await signInWithHttp(url.href, { login: 'bob' });
      const delivered = await listener.received;
      expect(delivered.href).toBe(returned.href);
      expect(delivered.searchParams.get('iss')).toBe(provider.issuer);

      const tokens = await redeem(delivered);
      expect(tokens.claims()).toMatchObject({
        iss: provider.issuer,
        sub: 'bob',
        preferred_username: 'bob',
        email: 'bob@example.test',
        email_verified: true,
        group: 'developers',
      });
      expect(tokens.refresh_token).toBeTruthy();

      const before = provider.refreshGrantCount();
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(provider.refreshGrantCount()).toBe(before + 1);
      expect(refreshed.refresh_token).toBeTruthy();
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.claims()?.sub).toBe('bob');

      await expect(provider.introspect(refreshed.access_token)).resolves.toMatchObject({
        active: true,
        sub: 'bob',
        client_id: config.clientMetadata().client_id,
      });
      expect((await provider.introspect(tokens.refresh_token!)).active).toBe(false);

      await oidc.tokenRevocation(config, refreshed.refresh_token!);
      expect((await provider.introspect(refreshed.refresh_token!)).active).toBe(false);
      expect((await provider.introspect(refreshed.access_token)).active).toBe(false);
      await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect(provider.refreshGrantCount()).toBe(before + 1);
    });
  }

  it('gives two logins the same preferred_username but different subs', async () => {
    const config = await discover(provider, 'public');
    const subs: string[] = [];
    for (const login of ['alice', 'alice-2']) {
      const listener = await callbackListener();
      const { url, redeem } = await startAuthorization(config, listener.redirectUri);
      const tokens = await redeem(await signInWithHttp(url.href, { login, deliverCallback: false }));
      expect(tokens.claims()?.preferred_username).toBe('alice');
      subs.push(String(tokens.claims()?.sub));
    }
    expect(subs).toEqual(['alice', 'alice-2']);
  });

  it('keeps tokens across restart() on the same port', async () => {
    const config = await discover(provider, 'confidential');
    const listener = await callbackListener();
    const { url, redeem } = await startAuthorization(config, listener.redirectUri);
    const tokens = await redeem(await signInWithHttp(url.href, { login: 'carol', deliverCallback: false }));
    await provider.restart();
    expect((await provider.introspect(tokens.access_token)).active).toBe(true);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).resolves.toBeTruthy();
  });

  it('signs in through headless Chromium (chromium-browser.mjs as the BROWSER command)', async () => {
    const config = await discover(provider, 'confidential');
    const listener = await callbackListener();
    const { url, redeem } = await startAuthorization(config, listener.redirectUri);
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-browser-log-'));
    const logFile = join(dir, 'browser.log');
    try {
      const result = await runChromium(['--login', 'dave', url.href], logFile);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(logFile, 'utf8')).toContain('done: callback loaded');

      const tokens = await redeem(await listener.received);
      expect(tokens.claims()).toMatchObject({ sub: 'dave', preferred_username: 'dave', group: 'developers' });
      expect(tokens.refresh_token).toBeTruthy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('test provider options', () => {
  it('honours rotateRefreshToken: false and the token lifetimes', async () => {
    const provider = await startTestProvider({ rotateRefreshToken: false, accessTokenTtl: 120, idTokenTtl: 90 });
    const listener = await listenForCallback();
    try {
      const config = await discover(provider, 'confidential');
      const { url, redeem } = await startAuthorization(config, listener.redirectUri);
      const tokens = await redeem(await signInWithHttp(url.href, { login: 'gina', deliverCallback: false }));
      expect(tokens.expires_in).toBe(120);
      const claims = tokens.claims()!;
      expect(claims.exp - claims.iat).toBe(90);

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.refresh_token ?? tokens.refresh_token).toBe(tokens.refresh_token);
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(provider.refreshGrantCount()).toBe(2);
    } finally {
      await listener.close();
      await provider.stop();
    }
  });

  it('revokes the whole grant when a rotated refresh token is reused', async () => {
    const provider = await startTestProvider();
    const listener = await listenForCallback();
    try {
      const config = await discover(provider, 'public');
      const { url, redeem } = await startAuthorization(config, listener.redirectUri);
      const tokens = await redeem(await signInWithHttp(url.href, { login: 'hank', deliverCallback: false }));
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(provider.refreshGrantCount()).toBe(1);
      expect(provider.grantErrors.map((e) => [e.grantType, e.error])).toEqual([
        ['refresh_token', 'invalid_grant'],
        ['refresh_token', 'invalid_grant'],
      ]);
    } finally {
      await listener.close();
      await provider.stop();
    }
  });
});

describe('test provider with device flow', () => {
  let provider: TestProvider;
  beforeAll(async () => {
    provider = await startTestProvider({ deviceFlow: true });
  });
  afterAll(async () => provider?.stop());

  async function deviceAuthorization() {
    const config = await discover(provider, 'public');
    const response = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
    return { config, response };
  }

  it('approves a device code over HTTP, typed in or from verification_uri_complete', async () => {
    for (const complete of [false, true]) {
      const { config, response } = await deviceAuthorization();
      const verificationUrl = complete ? response.verification_uri_complete! : response.verification_uri;
      await approveDeviceWithHttp(verificationUrl, { login: 'erin', userCode: response.user_code });
      const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...response, interval: 0.1 });
      expect(tokens.claims()?.sub).toBe('erin');
      expect(tokens.refresh_token).toBeTruthy();
    }
    expect(provider.grants.map((g) => g.grantType)).toContain('urn:ietf:params:oauth:grant-type:device_code');
  });

  it('approves a device code through headless Chromium', async () => {
    const { config, response } = await deviceAuthorization();
    const dir = mkdtempSync(join(tmpdir(), 'xtalk-browser-log-'));
    try {
      const result = await runChromium(
        ['--login', 'frank', '--device-code', response.user_code, response.verification_uri],
        join(dir, 'browser.log'),
      );
      expect(result.code, result.stderr).toBe(0);
      const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...response, interval: 0.1 });
      expect(tokens.claims()?.sub).toBe('frank');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
