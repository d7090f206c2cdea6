import * as oidc from 'openid-client';
import type { TokenAuthMethod } from '../core/oauth-terms.js';
import { CancelledError } from '../errors.js';
import { checkSameOrigin } from '../shared/endpoint-origin.js';
import { isLoopbackHost } from '../core/url-rules.js';
import { boundedFetch, withDeadline } from '../shared/bounded-fetch.js';
import { allowsBothSecretMethods, detectingFetch, startDetection, type AuthDetection } from './auth-detection.js';
import { basicAuthorization, requireSecret, type ClientFacts } from './client-auth.js';
import { fetchDiscovery } from './discovery.js';
import { asDiscoveryFailure, call } from './map-error.js';
import type { ProviderSettings } from '../core/provider-records.js';

/**
 * From settings to a ready openid-client Configuration: discovery (see {@link fetchDiscovery}:
 * verbatim discovery URL, same-origin redirects, exact issuer), the configured revocation endpoint
 * where discovery has none, client authentication, the ID-token alg, timeouts and the bounded
 * fetch. A loopback `http:` issuer is allowed, nothing else insecure.
 */
export async function setUpProvider(
  settings: ProviderSettings,
): Promise<{ config: oidc.Configuration; client: ClientFacts; fetches: ProviderFetches }> {
  const issuerUrl = new URL(settings.issuer);
  const configured = settings.tokenAuthMethod ?? (settings.clientSecret ? undefined : 'none');
  const alg = settings.idTokenSigningAlg;
  // HS* ID tokens are MACs under the client secret: openid-client cannot check those, the client does.
  const hmacSecret = alg?.startsWith('HS') ? requireSecret(settings, `XTALK_ID_TOKEN_SIGNING_ALG=${alg}`) : undefined;
  const execute = hmacSecret === undefined ? [oidc.enableNonRepudiationChecks] : [];
  if (issuerUrl.protocol === 'http:' && isLoopbackHost(issuerUrl.hostname)) execute.push(oidc.allowInsecureRequests);
  const timeout = settings.timeoutSeconds ?? 30;
  const unwrapped = settings.fetch ?? fetch;
  // Without a configured method, Basic until discovery says whether the body may be tried too.
  const secret = settings.clientSecret!;
  const detection: AuthDetection | undefined =
    configured === undefined ? { method: 'client_secret_basic', detecting: false, tried: [] } : undefined;
  const inner = detection
    ? detectingFetch(unwrapped, detection, { clientId: settings.clientId, secret }, settings.authMethodMemory)
    : unwrapped;
  const boundFetch = boundedFetch(settings.deadline ? withDeadline(inner, settings.deadline) : inner);
  const doc = await call(`discovery at ${settings.discoveryUrl ?? settings.issuer}`, () =>
    fetchDiscovery({
      issuer: settings.issuer,
      discoveryUrl: settings.discoveryUrl,
      fetch: boundFetch,
      timeoutMs: timeout * 1000,
      signal: settings.signal,
    }),
  ).catch((e: unknown) => {
    // The fetch rejects with the signal's reason (the signal's name), not with an error of ours.
    if (settings.signal?.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
    throw asDiscoveryFailure(e);
  });
  const discovered = doc.metadata as oidc.ServerMetadata;
  const fillRevocation = Boolean(settings.revocationEndpoint && !discovered.revocation_endpoint);
  if (fillRevocation)
    checkSameOrigin(settings.issuer, settings.revocationEndpoint!, 'revocation endpoint', settings.revocationEndpointFrom);
  const server: oidc.ServerMetadata = fillRevocation ? { ...discovered, revocation_endpoint: settings.revocationEndpoint } : discovered;
  if (detection)
    Object.assign(
      detection,
      startDetection(settings.authMethodMemory, allowsBothSecretMethods(discovered.token_endpoint_auth_methods_supported)),
    );
  const method: TokenAuthMethod = configured ?? detection!.method;
  const auth = detection
    ? detectedAuthentication(detection, settings.clientId, secret)
    : clientAuthentication(method, settings.clientId, settings.clientSecret);
  const metadata: Partial<oidc.ClientMetadata> = {};
  if (settings.clientSecret && method !== 'none') metadata.client_secret = settings.clientSecret;
  if (alg) metadata.id_token_signed_response_alg = alg;
  const config = new oidc.Configuration(server, settings.clientId, metadata, auth);
  for (const fn of execute) fn(config);
  config.timeout = timeout;
  config[oidc.customFetch] = boundFetch as oidc.CustomFetch;
  const insecure = execute.includes(oidc.allowInsecureRequests);
  return {
    config,
    client: { method, detection, clientId: settings.clientId, hmacSecret, discovery: { url: doc.url, redirects: doc.redirects } },
    fetches: { deadlined: boundFetch, inner, timeoutMs: timeout * 1000, insecure },
  };
}

/** The provider's fetches: with the settings' deadline (everything before a grant), and the one under it. */
export interface ProviderFetches {
  deadlined: typeof fetch;
  /** The fetch under both (no bound on the body, no deadline): the grant builds its own. */
  inner: typeof fetch;
  /** The per-request limit. */
  timeoutMs: number;
  /** Plain `http:` is allowed (a loopback issuer). */
  insecure: boolean;
}

/** openid-client's client authentication for a method; Basic is ours (see basicAuthorization). */
function clientAuthentication(method: TokenAuthMethod, clientId: string, clientSecret: string | undefined): oidc.ClientAuth {
  if (method === 'none') return oidc.None();
  const secret = requireSecret({ clientSecret }, `XTALK_TOKEN_AUTH_METHOD=${method}`);
  if (method === 'client_secret_post') return oidc.ClientSecretPost(secret);
  return (_as, _client, _body, headers) => {
    headers.set('authorization', basicAuthorization(clientId, secret));
  };
}

/** The method detection has settled on at the time of each request (see detectingFetch). */
function detectedAuthentication(detection: AuthDetection, clientId: string, secret: string): oidc.ClientAuth {
  const basic = clientAuthentication('client_secret_basic', clientId, secret);
  const post = oidc.ClientSecretPost(secret);
  return (...args) => (detection.method === 'client_secret_post' ? post : basic)(...args);
}
