/**
 * The Django OAuth Toolkit harness proven without xtalk: discovery as DOT 1.7 ships it, Django's
 * login form and DOT's consent page in Chromium, the code exchange, ID-token signatures (RS256 from
 * the JWKS, HS256 with the client secret), introspection, refresh rotation and revocation. When
 * xtalk's interop tests fail, this file says whether the provider or xtalk is at fault.
 */
import { createHash, createHmac, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDotBrowser } from './browser.js';
import { dotAvailability, startDot, type DotApplication, type DotProvider, type IdTokenAlg } from './dot-provider.js';

const { run, skip, reason: unavailable } = dotAvailability();

let dot: DotProvider;
let callbacks: Server;
const received: URL[] = [];

beforeAll(async () => {
  if (!run) return;
  dot = await startDot();
  callbacks = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${dot.callbackPort}`);
    // Chromium may also ask for /favicon.ico: only the redirect itself counts.
    if (url.pathname === '/callback') received.push(url);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>done</title><p>done</p>');
  });
  await new Promise<void>((r) => callbacks.listen(dot.callbackPort, '127.0.0.1', r));
}, 120_000);
afterAll(async () => {
  await new Promise((r) => (callbacks ? callbacks.close(r) : r(undefined)));
  await dot?.stop();
});

const b64url = (b: Buffer) => b.toString('base64url');
const basic = (app: DotApplication) =>
  `Basic ${Buffer.from(`${new URLSearchParams({ a: app.clientId }).toString().slice(2)}:${new URLSearchParams({ a: app.clientSecret }).toString().slice(2)}`).toString('base64')}`;

async function tokenRequest(app: DotApplication, body: Record<string, string>) {
  const res = await fetch(dot.tokenEndpoint, {
    method: 'POST',
    headers: { authorization: basic(app), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Signs in through Chromium and returns the callback URL DOT redirected to. */
async function authorize(app: DotApplication, scope: string, challenge: string, state: string): Promise<URL> {
  const url = new URL(`${dot.issuer}/authorize/`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    scope,
    state,
    nonce: state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const before = received.length;
  const browser = await runDotBrowser(url.href, dot.user);
  expect(browser.code, `browser:\n${browser.log}\nDOT:\n${dot.log()}`).toBe(0);
  expect(received.length).toBe(before + 1);
  const callback = received.at(-1)!;
  expect(callback.searchParams.get('state')).toBe(state);
  return callback;
}

function decodeJwt(jwt: string) {
  const [h, p, s] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s!, 'base64url'),
  };
}

async function verifyIdToken(app: DotApplication, idToken: string) {
  const jwt = decodeJwt(idToken);
  expect(jwt.header.alg).toBe(app.algorithm);
  if (app.algorithm === 'HS256') {
    const mac = createHmac('sha256', app.clientSecret).update(jwt.signingInput).digest();
    expect(mac.equals(jwt.signature)).toBe(true);
  } else {
    const jwks = (await (await fetch(`${dot.issuer}/.well-known/jwks.json`)).json()) as { keys: (JsonWebKey & { kid: string })[] };
    const jwk = jwks.keys.find((k) => k.kid === jwt.header.kid)!;
    expect(jwk).toBeDefined();
    expect(verify('sha256', Buffer.from(jwt.signingInput), createPublicKey({ key: jwk, format: 'jwk' }), jwt.signature)).toBe(true);
  }
  return jwt.payload as Record<string, unknown>;
}

if (!skip && unavailable) {
  it('Django OAuth Toolkit 1.7 can run (required under CI=true)', () => {
    throw new Error(unavailable);
  });
}

describe.runIf(run)('Django OAuth Toolkit 1.7 harness (no xtalk)', () => {
  it('serves discovery only at the slash URL, with no scopes_supported and no revocation_endpoint', async () => {
    const spec = await fetch(`${dot.issuer}/.well-known/openid-configuration`, { redirect: 'manual' });
    expect(spec.status).toBe(301);
    expect(new URL(spec.headers.get('location')!, dot.origin).href).toBe(dot.discoveryUrl);

    const res = await fetch(dot.discoveryUrl);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(dot.issuer);
    expect(doc.token_endpoint).toBe(dot.tokenEndpoint);
    expect(doc).not.toHaveProperty('scopes_supported');
    expect(doc).not.toHaveProperty('revocation_endpoint');
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256', 'HS256']);
  });

  it('ends an authorization that asks for offline_access with invalid_scope', async () => {
    const state = b64url(randomBytes(8));
    const callback = await authorize(dot.applications.RS256, 'openid profile email offline_access', b64url(randomBytes(32)), state);
    expect(callback.searchParams.get('error')).toBe('invalid_scope');
    expect((await dot.authorizations()).filter((a) => a.state === state)).toEqual([
      { state, scope: 'openid profile email offline_access' },
    ]);
    expect(callback.searchParams.has('code')).toBe(false);
  }, 120_000);

  it.each<IdTokenAlg>(['RS256', 'HS256'])(
    '%s application: login, code exchange, claims, introspection, rotation, revocation',
    async (alg) => {
      const app = dot.applications[alg];
      const verifier = b64url(randomBytes(32));
      const challenge = b64url(createHash('sha256').update(verifier).digest());
      const callback = await authorize(app, 'openid profile email', challenge, b64url(randomBytes(8)));
      const code = callback.searchParams.get('code');
      expect(code, callback.href).toBeTruthy();

      const exchanged = await tokenRequest(app, {
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: app.redirectUri,
        code_verifier: verifier,
      });
      expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
      const { access_token: access, refresh_token: refresh, id_token: idToken } = exchanged.body;
      expect(Number(exchanged.body.expires_in)).toBe(30);
      const claims = await verifyIdToken(app, idToken!);
      expect(claims).toMatchObject({
        iss: dot.issuer,
        aud: app.clientId,
        sub: dot.user.sub,
        preferred_username: dot.user.username,
        email: dot.user.email,
        group: dot.user.group,
      });

      expect(await dot.introspect(access!)).toMatchObject({ active: true, client_id: app.clientId, username: dot.user.username });

      const grantsBefore = (await dot.grants()).length;
      const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refresh! });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(refresh);
      const reused = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refresh! });
      expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await dot.grants()).slice(grantsBefore)).toEqual([
        { path: '/o/token/', grant_type: 'refresh_token', status: 200, error: '' },
        { path: '/o/token/', grant_type: 'refresh_token', status: 400, error: 'invalid_grant' },
      ]);
      // Rotation revokes the old access token at once (no grace period).
      expect((await dot.introspect(access!)).active).toBe(false);
      const rows = (await dot.tokens()).refresh.filter((t) => t.client_id === app.clientId);
      expect(rows.find((t) => t.token === refresh)?.revoked).toBeTruthy();
      expect(rows.find((t) => t.token === refreshed.body.refresh_token)?.revoked).toBeNull();

      const revoke = await fetch(dot.revocationEndpoint, {
        method: 'POST',
        headers: { authorization: basic(app), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refreshed.body.refresh_token!, token_type_hint: 'refresh_token' }),
      });
      expect(revoke.status).toBe(200);
      expect((await dot.introspect(refreshed.body.access_token!)).active).toBe(false);
      expect((await dot.tokens()).refresh.find((t) => t.token === refreshed.body.refresh_token)?.revoked).toBeTruthy();
      expect(await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token! })).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant' },
      });
    },
    120_000,
  );
});
