import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestAdapter } from './adapter.js';
import { scriptDevicePolls, type DevicePollRecord, type ScriptedDeviceAnswer } from './device-polls.js';
import { deviceFlowPages, errorPage, logoutPages } from './pages.js';

/** Claims of one login name; anything left out is derived from the login name. */
export interface TestUser {
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  group?: string;
}

export interface TestProviderOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Per-login claim overrides, e.g. `{ 'alice-2': { preferred_username: 'alice' } }`. */
  users?: Record<string, TestUser>;
  deviceFlow?: boolean;
  /** Answers for the first device-code token requests that would get authorization_pending. */
  devicePollScript?: ScriptedDeviceAnswer[];
  /** Rotate the refresh token on every refresh (default true). */
  rotateRefreshToken?: boolean;
  /** Seconds (default 3600); a function is asked for each access token issued. */
  accessTokenTtl?: number | (() => number);
  /** Seconds (default 3600). */
  idTokenTtl?: number;
  /** Seconds (default 14 days). */
  refreshTokenTtl?: number;
  /** Remove `revocation_endpoint` from discovery; the endpoint itself stays live. */
  hideRevocationEndpoint?: boolean;
  /** The issuer's path, e.g. `/` (Auth0-style `https://tenant/`) or `/oidc/`; default: none (`http://127.0.0.1:PORT`). */
  issuerPath?: string;
  /** Serve discovery only at the well-known path plus `/`, answering the spec path with 301 (Django's APPEND_SLASH). */
  discoveryTrailingSlash?: boolean;
  /** Remove `scopes_supported` from discovery. */
  hideScopesSupported?: boolean;
  /** Scopes the authorization endpoint answers with `error=invalid_scope` (like DOT for scopes it does not know). */
  rejectScopes?: string[];
  /** Issue refresh tokens only when `offline_access` was granted (default: whenever the client may refresh). */
  refreshOnlyWithOfflineAccess?: boolean;
  /** The confidential client's `id_token_signed_response_alg`, e.g. `HS256` (signed with its secret). */
  confidentialIdTokenAlg?: string;
  confidentialClientId?: string;
  publicClientId?: string;
  /** Secret of the confidential client (default: random per instance). */
  clientSecret?: string;
  /**
   * Compare the password of `Authorization: Basic` with the client secret as it arrives, without
   * the form-decoding of RFC 6749 §2.3.1 (token, revocation and device endpoints): a secret that
   * form-encoding changes (`+`, `%`, `:`, space, `/`, `=` …) fails in Basic and works in the body.
   */
  basicCredentialsNotFormDecoded?: boolean;
  /** `token_endpoint_auth_methods_supported` (and what the provider accepts), e.g. `['client_secret_basic', 'none']`. */
  tokenEndpointAuthMethods?: string[];
  /** Koa middleware run ahead of the provider's own (it is composed once, at start). */
  middleware?: KoaMiddleware[];

  // Providers that bend the RFCs in how they answer (issue 23, items 1, 2, 4): one option per behaviour.
  /**
   * Answer the refresh grant with this error where the provider says `invalid_grant` (a revoked,
   * expired or unknown refresh token), e.g. `invalid_request` as some providers do; still HTTP 400.
   */
  refreshErrorAs?: string;
  /**
   * Answer every 401 `invalid_client` with `WWW-Authenticate: Basic realm="<issuer>"` and no `error`
   * parameter, the error only in the JSON body (oidc-provider itself puts it in the challenge).
   */
  basicChallengeOnInvalidClient?: boolean;
  /** Leave `scope` out of every token response (RFC 6749 §5.1: then it is the scope requested). */
  omitTokenScope?: boolean;

  // Issue 23, logout without RFC 7009.
  /** Remove `end_session_endpoint` from discovery (no RP-Initiated Logout); the endpoint itself stays live. */
  hideEndSessionEndpoint?: boolean;
}

export interface ClientAuthRecord {
  path: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface GrantRecord {
  grantType: string;
  at: number;
}

export interface GrantErrorRecord extends GrantRecord {
  error: string;
  description?: string;
}

export interface IntrospectionResult {
  active: boolean;
  [claim: string]: unknown;
}

/** The part of an oidc-provider instance tests touch; the library ships no type declarations. */
export interface OidcProvider {
  readonly issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: KoaMiddleware): this;
  // biome-ignore lint/suspicious/noExplicitAny: each event passes its own arguments, untyped callbacks take them as they come
  on(event: string, listener: (...args: any[]) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the rest of an untyped library, used as it comes
  [member: string]: any;
}

export interface TestProvider {
  issuer: string;
  port: number;
  confidentialClient: { clientId: string; clientSecret: string };
  publicClient: { clientId: string };
  /** Successful token-endpoint grants, in order. */
  grants: GrantRecord[];
  /** Failed token-endpoint requests, in order. */
  grantErrors: GrantErrorRecord[];
  /** The `Authorization` header of every request to the token endpoint, exactly as it arrived. */
  tokenAuthorizations: (string | undefined)[];
  /** Every device-code token request and what it was answered. */
  devicePolls: DevicePollRecord[];
  /** How the client authenticated to the token, revocation and device endpoints, one entry per request. */
  clientAuthentications: ClientAuthRecord[];
  refreshGrantCount(): number;
  /** Introspects over HTTP, authenticated as the confidential client. */
  introspect(token: string): Promise<IntrospectionResult>;
  /** Revokes a token at the provider (RFC 7009), as an administrator would, authenticated as the confidential client. */
  revoke(token: string): Promise<void>;
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port; tokens, grants and sessions survive. */
  restart(): Promise<void>;
  provider: OidcProvider;
}

export const REDIRECT_URI = 'http://127.0.0.1/callback';
/** RP-Initiated Logout: as with REDIRECT_URI, any loopback port matches for a native client. */
export const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1/logout-callback';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const INTROSPECTION_PATH = '/token/introspection';
const REVOCATION_PATH = '/token/revocation';
const DAY = 24 * 60 * 60;

export interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  redirect(url: string): void;
  type: string;
  body: unknown;
  status: number;
  set(name: string, value: string): void;
  headers: IncomingMessage['headers'];
  oidc?: { params?: Record<string, unknown>; body?: Record<string, unknown> };
}
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
type ProviderConstructor = new (issuer: string, configuration: object) => OidcProvider;

/**
 * Starts an in-process OpenID provider on 127.0.0.1 shaped like the IoTtalk Account Subsystem:
 * any login name signs in, `sub` is the login name, refresh tokens come with every code grant.
 */
export async function startTestProvider(opts: TestProviderOptions = {}): Promise<TestProvider> {
  const Provider = await loadProvider();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  // No keep-alive: after stop() or restart() an in-process client must not reuse a pooled socket
  // the server already closed ("other side closed"); it gets a clean refusal or a new connection.
  const tokenAuthorizations: (string | undefined)[] = [];
  const prefix = (opts.issuerPath ?? '').replace(/\/$/, '');
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    // Mounted under the issuer's path the way a framework mounts it: oidc-provider reads originalUrl.
    if (prefix && req.url?.startsWith(`${prefix}/`)) {
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url.slice(prefix.length);
    }
    if (req.url?.startsWith('/token') && !req.url.startsWith('/token/')) tokenAuthorizations.push(req.headers.authorization);
    handler(req, res);
  };
  let server = createServer(serve);
  await listen(server, opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}${opts.issuerPath ?? ''}`;

  const confidentialClient = {
    clientId: opts.confidentialClientId ?? 'xtalk-confidential',
    clientSecret: opts.clientSecret ?? randomBytes(24).toString('base64url'),
  };
  const publicClient = { clientId: opts.publicClientId ?? 'xtalk-public' };

  const provider = quietly(() => new Provider(issuer, buildConfiguration(opts, confidentialClient, publicClient)));
  if (opts.hideRevocationEndpoint) provider.use(hideRevocationEndpoint);
  if (opts.hideScopesSupported) provider.use(hideScopesSupported);
  if (opts.hideEndSessionEndpoint) provider.use(hideEndSessionEndpoint);
  if (opts.discoveryTrailingSlash) provider.use(discoveryOnlyWithSlash(prefix));
  if (opts.rejectScopes) provider.use(rejectScopes(opts.rejectScopes, issuer));
  if (opts.refreshErrorAs) provider.use(refreshErrorAs(opts.refreshErrorAs));
  if (opts.basicChallengeOnInvalidClient) provider.use(basicChallengeOnInvalidClient(issuer));
  if (opts.omitTokenScope) provider.use(omitTokenScope);
  provider.use(stripRemoteStylesheets);
  const clientAuthentications: ClientAuthRecord[] = [];
  provider.use(recordClientAuthentication(clientAuthentications));
  if (opts.basicCredentialsNotFormDecoded) provider.use(basicCredentialsNotFormDecoded);
  for (const m of opts.middleware ?? []) provider.use(m);
  const devicePolls: DevicePollRecord[] = [];
  provider.use(scriptDevicePolls(opts.devicePollScript ?? [], devicePolls) as unknown as KoaMiddleware);

  const grants: GrantRecord[] = [];
  const grantErrors: GrantErrorRecord[] = [];
  provider.on('grant.success', (ctx: KoaContext) => {
    grants.push({ grantType: String(ctx.oidc?.params?.grant_type), at: Date.now() });
  });
  provider.on('grant.error', (ctx: KoaContext, error: { error?: string; error_description?: string }) => {
    grantErrors.push({
      grantType: String(ctx.oidc?.params?.grant_type),
      at: Date.now(),
      error: String(error.error ?? 'server_error'),
      ...(error.error_description === undefined ? {} : { description: error.error_description }),
    });
  });

  handler = quietly(() => provider.callback());

  return {
    issuer,
    port,
    confidentialClient,
    publicClient,
    grants,
    grantErrors,
    tokenAuthorizations,
    devicePolls,
    clientAuthentications,
    refreshGrantCount: () => grants.filter((g) => g.grantType === 'refresh_token').length,
    introspect: (token) => introspect(issuer, confidentialClient, token),
    revoke: async (token) => {
      const res = await clientPost(issuer, confidentialClient, REVOCATION_PATH, token);
      if (!res.ok) throw new Error(`revocation failed: HTTP ${res.status} ${await res.text()}`);
    },
    stop: () => close(server),
    async restart() {
      await close(server);
      server = createServer(serve);
      await listen(server, port);
    },
    provider,
  };
}

function buildConfiguration(
  opts: TestProviderOptions,
  confidential: { clientId: string; clientSecret: string },
  publicClient: { clientId: string },
): object {
  const grantTypes = ['authorization_code', 'refresh_token', ...(opts.deviceFlow ? [DEVICE_CODE_GRANT] : [])];
  const clientBase = {
    application_type: 'native',
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
    grant_types: grantTypes,
    response_types: ['code'],
  };
  const refreshTtl = opts.refreshTokenTtl ?? 14 * DAY;
  const rotate = opts.rotateRefreshToken ?? true;

  return {
    adapter: createTestAdapter(),
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [
      {
        ...clientBase,
        client_id: confidential.clientId,
        client_secret: confidential.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        ...(opts.confidentialIdTokenAlg ? { id_token_signed_response_alg: opts.confidentialIdTokenAlg } : {}),
      },
      { ...clientBase, client_id: publicClient.clientId, token_endpoint_auth_method: 'none' },
    ],
    ...(opts.tokenEndpointAuthMethods ? { clientAuthMethods: opts.tokenEndpointAuthMethods } : {}),
    ...(opts.confidentialIdTokenAlg ? { enabledJWA: { idTokenSigningAlgValues: ['RS256', opts.confidentialIdTokenAlg] } } : {}),
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'group'],
      email: ['email', 'email_verified'],
      group: ['group'],
    },
    scopes: ['openid', 'offline_access'],
    responseTypes: ['code'],
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, sub: string) => findAccount(opts.users ?? {}, sub),
    // Refresh tokens without the prompt=consent ritual, as the Account Subsystem does.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && (!opts.refreshOnlyWithOfflineAccess || code.scopes.has('offline_access')),
    // A CLI session must outlive the browser session that created it.
    expiresWithSession: async () => false,
    rotateRefreshToken: () => rotate,
    pkce: { required: () => true },
    ttl: {
      AccessToken: typeof opts.accessTokenTtl === 'function' ? opts.accessTokenTtl : (opts.accessTokenTtl ?? 3600),
      AuthorizationCode: 60,
      BackchannelAuthenticationRequest: 600,
      ClientCredentials: 600,
      DeviceCode: 600,
      Grant: Math.max(refreshTtl, 14 * DAY),
      IdToken: opts.idTokenTtl ?? 3600,
      Interaction: 3600,
      PreAuthorizedCode: 600,
      RefreshToken: refreshTtl,
      Session: 14 * DAY,
    },
    // Every default below logs a "you SHOULD change it" notice on stdout the first time it runs.
    clientBasedCORS: () => false,
    renderError: errorPage,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: Boolean(opts.deviceFlow), ...deviceFlowPages },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod !== 'none',
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
          token.clientId === client.clientId,
      },
      rpInitiatedLogout: { enabled: true, ...logoutPages },
    },
  };
}

function findAccount(users: Record<string, TestUser>, login: string) {
  const user = users[login] ?? {};
  const username = user.preferred_username ?? login;
  return {
    accountId: login,
    claims: async () => ({
      sub: login,
      preferred_username: username,
      email: user.email ?? `${username}@example.test`,
      email_verified: user.email_verified ?? true,
      group: user.group ?? 'developers',
    }),
  };
}

const hideRevocationEndpoint: KoaMiddleware = async (ctx, next) => {
  await next();
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    delete (ctx.body as Record<string, unknown>).revocation_endpoint;
  }
};

const hideEndSessionEndpoint: KoaMiddleware = async (ctx, next) => {
  await next();
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    delete (ctx.body as Record<string, unknown>).end_session_endpoint;
  }
};

const hideScopesSupported: KoaMiddleware = async (ctx, next) => {
  await next();
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    delete (ctx.body as Record<string, unknown>).scopes_supported;
  }
};

function discoveryOnlyWithSlash(prefix: string): KoaMiddleware {
  return async (ctx, next) => {
    if (ctx.path === '/.well-known/openid-configuration') {
      ctx.status = 301;
      ctx.redirect(`${prefix}/.well-known/openid-configuration/`);
      return;
    }
    if (ctx.path === '/.well-known/openid-configuration/') ctx.path = '/.well-known/openid-configuration';
    await next();
  };
}

/** Ends an authorization asking for one of `scopes` with `invalid_scope`, back at the redirect URI (with `iss`, RFC 9207). */
function rejectScopes(scopes: string[], issuer: string): KoaMiddleware {
  return async (ctx, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const params = new URLSearchParams(ctx.querystring);
      const asked = (params.get('scope') ?? '').split(' ');
      const redirectUri = params.get('redirect_uri');
      if (redirectUri && asked.some((s) => scopes.includes(s))) {
        const back = new URL(redirectUri);
        back.search = new URLSearchParams({ error: 'invalid_scope', state: params.get('state') ?? '', iss: issuer }).toString();
        ctx.redirect(back.href);
        return;
      }
    }
    await next();
  };
}

/** See TestProviderOptions.refreshErrorAs. */
function refreshErrorAs(error: string): KoaMiddleware {
  return async (ctx, next) => {
    await next();
    const body = ctx.body as { error?: unknown } | undefined;
    if (
      ctx.path === '/token' &&
      ctx.oidc?.params?.grant_type === 'refresh_token' &&
      ctx.status === 400 &&
      body?.error === 'invalid_grant'
    ) {
      ctx.body = { error, error_description: 'refresh token not found or expired' };
    }
  };
}

/** The endpoints where a client authenticates (not introspection: the tests' own admin calls go there). */
const CLIENT_AUTH_PATHS = new Set(['/token', REVOCATION_PATH, '/device/auth']);

function recordClientAuthentication(records: ClientAuthRecord[]): KoaMiddleware {
  return async (ctx, next) => {
    if (!CLIENT_AUTH_PATHS.has(ctx.path) || ctx.method !== 'POST') return next();
    const basic = ctx.headers.authorization !== undefined;
    try {
      await next();
    } finally {
      const post = !basic && ctx.oidc?.body?.client_secret !== undefined;
      records.push({ path: ctx.path, method: basic ? 'client_secret_basic' : post ? 'client_secret_post' : 'none' });
    }
  };
}

/** See TestProviderOptions.basicChallengeOnInvalidClient. */
function basicChallengeOnInvalidClient(issuer: string): KoaMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status === 401 && (ctx.body as { error?: unknown } | undefined)?.error === 'invalid_client') {
      ctx.set('WWW-Authenticate', `Basic realm="${issuer}"`);
    }
  };
}

/** See TestProviderOptions.omitTokenScope. */
const omitTokenScope: KoaMiddleware = async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    delete (ctx.body as Record<string, unknown>).scope;
  }
};

/**
 * Re-encodes the Basic credentials so that oidc-provider's form-decoding gives back the bytes that
 * arrived: it then compares the raw password with the secret, as a provider that never decodes does.
 */
const basicCredentialsNotFormDecoded: KoaMiddleware = async (ctx, next) => {
  const header = ctx.headers.authorization;
  if (CLIENT_AUTH_PATHS.has(ctx.path) && header?.startsWith('Basic ')) {
    const raw = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const i = raw.indexOf(':');
    if (i > 0) {
      const reencoded = `${encodeURIComponent(raw.slice(0, i))}:${encodeURIComponent(raw.slice(i + 1))}`;
      ctx.headers.authorization = `Basic ${Buffer.from(reencoded).toString('base64')}`;
    }
  }
  await next();
};

// The built-in pages @import a Google font; a test browser must never leave loopback.
const stripRemoteStylesheets: KoaMiddleware = async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.type.includes('html')) {
    ctx.body = ctx.body.replace(/@import\s+url\(\s*['"]?https?:[^)]*\)\s*;?/g, '');
  }
};

function clientPost(issuer: string, client: { clientId: string; clientSecret: string }, path: string, token: string): Promise<Response> {
  const credentials = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
  return fetch(`${issuer.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function introspect(issuer: string, client: { clientId: string; clientSecret: string }, token: string): Promise<IntrospectionResult> {
  const res = await clientPost(issuer, client, INTROSPECTION_PATH, token);
  if (!res.ok) throw new Error(`introspection failed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as IntrospectionResult;
}

let cachedKey: Record<string, unknown> | undefined;

function signingKey(): Record<string, unknown> {
  if (!cachedKey) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    cachedKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
  }
  return cachedKey;
}

let providerConstructor: Promise<ProviderConstructor> | undefined;

function loadProvider(): Promise<ProviderConstructor> {
  providerConstructor ??= (async () => {
    const restore = muteProviderNotices();
    try {
      // @ts-expect-error -- oidc-provider ships no type declarations; OidcProvider above covers what we use.
      const mod = await import('oidc-provider');
      return mod.default as ProviderConstructor;
    } finally {
      restore();
    }
  })();
  return providerConstructor;
}

/** Runs fn with oidc-provider's development notices ("Unsupported runtime", devInteractions) muted. */
function quietly<T>(fn: () => T): T {
  const restore = muteProviderNotices();
  try {
    return fn();
  } finally {
    restore();
  }
}

function muteProviderNotices(): () => void {
  const { info, warn } = console;
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      original.apply(console, args);
    };
  console.info = filter(info);
  console.warn = filter(warn);
  return () => {
    console.info = info;
    console.warn = warn;
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
