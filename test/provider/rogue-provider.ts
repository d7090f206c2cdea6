/**
 * A small hand-written OpenID provider on 127.0.0.1 that misbehaves on request, for the cases
 * oidc-provider refuses to produce (the OpenID relying-party conformance cases): broken ID-token
 * signatures and claims, a lying discovery document, a wrong `iss` in the redirect, userinfo about
 * someone else, refresh responses for another session. The OAuth side (client authentication, PKCE,
 * one-time codes) is strict, so a test fails only on the misbehaviour it sets up.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { followStartLink } from './http-browser.js';
import { createSigningKey, signJwt, unpublishedKey, type AsymmetricAlg, type Signature, type SigningKey } from './rogue-jwt.js';

export type Claims = Record<string, unknown>;
export type GrantType = 'authorization_code' | 'refresh_token';

/** How ID tokens are signed. */
export type SigningMode =
  | 'RS256'
  | 'ES256'
  /** The published `kid`, another private key: the signature does not verify. */
  | 'RS256-wrong-key'
  | 'ES256-wrong-key'
  /** A valid signature by a key the JWKS does not publish (`kid: unpublished`). */
  | 'RS256-unpublished-key'
  | 'none'
  | 'HS256-client-secret';

/** What the provider does; tests change it freely, `reset()` restores these defaults. */
export interface RogueBehaviour {
  /** `issuer` in the discovery document; undefined: the real issuer. */
  discoveryIssuer: string | undefined;
  /** `authorization_response_iss_parameter_supported` (RFC 9207). */
  issParameterSupported: boolean;
  /** `iss` in the authorization redirect; undefined: the issuer; null: left out. */
  redirectIss: string | null | undefined;
  /** `id_token_signing_alg_values_supported`. */
  signingAlgs: string[];
  signing: SigningMode;
  /** Rewrites the ID-token claims of a token response (return a new object; delete to leave a claim out). */
  idTokenClaims: ((claims: Claims, grant: GrantType) => Claims) | undefined;
  /** The refresh response carries an ID token. */
  idTokenOnRefresh: boolean;
  /** Replaces the ID token of a token response with this text as it is (e.g. something that is not a JWT). */
  rawIdToken: ((grant: GrantType) => string | undefined) | undefined;
  /** `preferred_username` and `email` in the ID token; without them xtalk asks userinfo. */
  profileInIdToken: boolean;
  /** Rewrites the userinfo answer. */
  userinfo: ((claims: Claims) => Claims) | undefined;
  tokenType: string;
  /** undefined: `expires_in` is left out. */
  expiresIn: number | undefined;
  /** Paths (values of PATHS) whose requests are recorded and then never answered. */
  stalled: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** `grant_type` of token requests. */
  grantType?: string;
}

export const ROGUE_SUBJECT = 'rogue-sub-1';
export const ROGUE_USER = { preferred_username: 'rosa', email: 'rosa@rogue.test' } as const;

export const PATHS = {
  discovery: '/.well-known/openid-configuration',
  jwks: '/jwks',
  authorize: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  revoke: '/revoke',
} as const;

export interface RogueProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The variables xtalk reads to use this provider with the confidential client. */
  readonly env: Record<string, string>;
  behaviour: RogueBehaviour;
  readonly requests: RecordedRequest[];
  /** How many requests reached `path` (a value of PATHS), optionally only one grant type. */
  count(path: string, grantType?: GrantType): number;
  /** Replaces the key of `alg` by a new one with a new `kid`; the JWKS publishes only the new key. */
  rotateKey(alg?: AsymmetricAlg): SigningKey;
  /** Default behaviour, first keys, empty request log. */
  reset(): void;
  stop(): Promise<void>;
}

export function defaultBehaviour(): RogueBehaviour {
  return {
    discoveryIssuer: undefined,
    issParameterSupported: true,
    redirectIss: undefined,
    signingAlgs: ['RS256', 'ES256'],
    signing: 'RS256',
    idTokenClaims: undefined,
    idTokenOnRefresh: true,
    rawIdToken: undefined,
    profileInIdToken: true,
    userinfo: undefined,
    tokenType: 'Bearer',
    expiresIn: 3600,
    stalled: [],
  };
}

interface PendingCode {
  redirectUri: string;
  codeChallenge: string;
  nonce: string | undefined;
  scope: string;
}

const firstKeys = { RS256: createSigningKey('RS256', 'rsa-1'), ES256: createSigningKey('ES256', 'ec-1') };

export async function startRogueProvider(): Promise<RogueProvider> {
  const clientId = 'xtalk-rogue-client';
  const clientSecret = randomBytes(24).toString('base64url');
  const codes = new Map<string, PendingCode>();
  const accessTokens = new Set<string>();
  const refreshTokens = new Map<string, string>(); // refresh token -> scope
  let keys = { ...firstKeys };
  let rotations = 0;
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { error: 'server_error', error_description: String(e) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider: RogueProvider = {
    issuer,
    clientId,
    clientSecret,
    env: { XTALK_ISSUER: issuer, XTALK_CLIENT_ID: clientId, XTALK_CLIENT_SECRET: clientSecret },
    behaviour: defaultBehaviour(),
    requests,
    count: (path, grantType) => requests.filter((r) => r.path === path && (!grantType || r.grantType === grantType)).length,
    rotateKey(alg = 'RS256') {
      const key = createSigningKey(alg, `${alg === 'RS256' ? 'rsa' : 'ec'}-rotated-${++rotations}`);
      keys = { ...keys, [alg]: key };
      return key;
    },
    reset() {
      provider.behaviour = defaultBehaviour();
      keys = { ...firstKeys };
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    const body = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : new URLSearchParams();
    const grantType = url.pathname === PATHS.token ? (body.get('grant_type') ?? undefined) : undefined;
    requests.push({ method: req.method ?? 'GET', path: url.pathname, ...(grantType ? { grantType } : {}) });
    if (provider.behaviour.stalled.includes(url.pathname)) return;
    switch (url.pathname) {
      case PATHS.discovery:
        return send(res, 200, discovery());
      case PATHS.jwks:
        return send(res, 200, { keys: [keys.RS256.publicJwk, keys.ES256.publicJwk] });
      case PATHS.authorize:
        return authorize(url, res);
      case PATHS.token:
        return token(req, body, res);
      case PATHS.userinfo:
        return userinfo(req, res);
      case PATHS.revoke:
        if (!authenticates(req)) return send(res, 401, { error: 'invalid_client' });
        accessTokens.delete(body.get('token') ?? '');
        refreshTokens.delete(body.get('token') ?? '');
        res.writeHead(200).end();
        return;
      default:
        return send(res, 404, { error: 'not_found' });
    }
  }

  function discovery(): Claims {
    const b = provider.behaviour;
    return {
      issuer: b.discoveryIssuer ?? issuer,
      authorization_endpoint: issuer + PATHS.authorize,
      token_endpoint: issuer + PATHS.token,
      userinfo_endpoint: issuer + PATHS.userinfo,
      jwks_uri: issuer + PATHS.jwks,
      revocation_endpoint: issuer + PATHS.revoke,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: b.signingAlgs,
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      authorization_response_iss_parameter_supported: b.issParameterSupported,
    };
  }

  /** Signs the user in at once and redirects back with a code, the state and (maybe) `iss`. */
  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const challenge = q.get('code_challenge');
    if (q.get('client_id') !== clientId || !/^http:\/\/127\.0\.0\.1:\d+\/callback$/.test(redirectUri) || !challenge) {
      return send(res, 400, { error: 'invalid_request' });
    }
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256') return send(res, 400, { error: 'invalid_request' });
    const code = randomBytes(16).toString('base64url');
    codes.set(code, { redirectUri, codeChallenge: challenge, nonce: q.get('nonce') ?? undefined, scope: q.get('scope') ?? 'openid' });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (q.get('state') !== null) target.searchParams.set('state', q.get('state')!);
    const iss = provider.behaviour.redirectIss === undefined ? issuer : provider.behaviour.redirectIss;
    if (iss !== null) target.searchParams.set('iss', iss);
    res.writeHead(302, { location: target.href }).end();
  }

  function token(req: IncomingMessage, body: URLSearchParams, res: ServerResponse): void {
    if (!authenticates(req)) return send(res, 401, { error: 'invalid_client' });
    if (body.get('grant_type') === 'authorization_code') {
      const pending = codes.get(body.get('code') ?? '');
      codes.delete(body.get('code') ?? '');
      const verifier = body.get('code_verifier') ?? '';
      if (!pending || pending.redirectUri !== body.get('redirect_uri') || s256(verifier) !== pending.codeChallenge) {
        return send(res, 400, { error: 'invalid_grant', error_description: 'unknown code, or PKCE / redirect_uri mismatch' });
      }
      return send(res, 200, tokenResponse('authorization_code', pending.scope, pending.nonce));
    }
    if (body.get('grant_type') === 'refresh_token') {
      const scope = refreshTokens.get(body.get('refresh_token') ?? '');
      if (scope === undefined) return send(res, 400, { error: 'invalid_grant', error_description: 'unknown refresh token' });
      refreshTokens.delete(body.get('refresh_token') ?? '');
      return send(res, 200, tokenResponse('refresh_token', scope, undefined));
    }
    return send(res, 400, { error: 'unsupported_grant_type' });
  }

  function tokenResponse(grant: GrantType, scope: string, nonce: string | undefined): Claims {
    const b = provider.behaviour;
    const accessToken = randomBytes(24).toString('base64url');
    const refreshToken = randomBytes(24).toString('base64url');
    accessTokens.add(accessToken);
    refreshTokens.set(refreshToken, scope);
    const response: Claims = { access_token: accessToken, token_type: b.tokenType, refresh_token: refreshToken, scope };
    if (b.expiresIn !== undefined) response.expires_in = b.expiresIn;
    if (grant === 'authorization_code' || b.idTokenOnRefresh) response.id_token = b.rawIdToken?.(grant) ?? idToken(grant, nonce);
    return response;
  }

  function idToken(grant: GrantType, nonce: string | undefined): string {
    const b = provider.behaviour;
    const now = Math.floor(Date.now() / 1000);
    let claims: Claims = { iss: issuer, sub: ROGUE_SUBJECT, aud: clientId, exp: now + 600, iat: now, auth_time: now };
    if (grant === 'authorization_code' && nonce !== undefined) claims.nonce = nonce;
    if (b.profileInIdToken) Object.assign(claims, ROGUE_USER);
    if (b.idTokenClaims) claims = b.idTokenClaims({ ...claims }, grant);
    return signJwt(claims, signatureFor(b.signing));
  }

  function signatureFor(mode: SigningMode): Signature {
    switch (mode) {
      case 'RS256':
      case 'ES256':
        return { kind: 'key', key: keys[mode] };
      case 'RS256-wrong-key':
        return { kind: 'wrong-key', key: keys.RS256 };
      case 'ES256-wrong-key':
        return { kind: 'wrong-key', key: keys.ES256 };
      case 'RS256-unpublished-key':
        return { kind: 'key', key: unpublishedKey('RS256') };
      case 'none':
        return { kind: 'none' };
      case 'HS256-client-secret':
        return { kind: 'hs256', secret: clientSecret };
    }
  }

  function userinfo(req: IncomingMessage, res: ServerResponse): void {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !accessTokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    const claims: Claims = { sub: ROGUE_SUBJECT, ...ROGUE_USER };
    send(res, 200, provider.behaviour.userinfo ? provider.behaviour.userinfo(claims) : claims);
  }

  function authenticates(req: IncomingMessage): boolean {
    const basic = /^Basic (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!basic) return false;
    const [id = '', secret = ''] = Buffer.from(basic, 'base64')
      .toString()
      .split(':')
      .map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
    return id === clientId && secret === clientSecret;
  }

  return provider;
}

/**
 * What a browser does with xtalk's start link and the rogue authorization endpoint: follow their
 * redirects to the loopback callback and read the page xtalk answers with (which arrives once xtalk
 * has finished).
 */
export async function followAuthorization(browserUrl: string): Promise<{ callback: URL; page: string }> {
  const res = await fetch(await followStartLink(browserUrl), { redirect: 'manual' });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`the authorization endpoint answered HTTP ${res.status} without a redirect`);
  const callback = new URL(location);
  const page = await (await fetch(callback)).text();
  return { callback, page };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}
