import { isLoopbackHost } from '../core/url-rules.js';
import { ConfigError } from '../errors.js';
import { boundedFetch } from '../shared/bounded-fetch.js';
import { hasProxy, proxyProblem, readProxyEnv, type ProxyEnv } from './proxy-env.js';

type Env = Readonly<Record<string, string | undefined>>;

interface Loaded {
  fetch: (url: string, init: object) => Promise<Response>;
  dispatcher: object;
}

/**
 * A `fetch` for provider calls that honours `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (see
 * {@link routeFor}), or undefined when no proxy variable is set, so that nothing extra loads.
 * Node's own fetch ignores these variables. undici is imported on the first request only.
 * Throws ConfigError for a proxy variable that is not an http: or https: URL.
 */
export function createProviderFetch(env: Env): typeof fetch | undefined {
  const proxied = createProxiedFetch(env);
  // boundedFetch reads the body with the 1 MB limit and rebuilds it as this realm's Response:
  // callers tell HTTP errors apart with `instanceof Response`.
  return proxied && boundedFetch(proxied);
}

/**
 * The same proxy routing without the provider's size limit, for `xtalk api` (whose answers may be
 * large and are streamed); undefined when no proxy variable is set. Same ConfigError as above.
 */
export function createProxiedFetch(env: Env): typeof fetch | undefined {
  const settings = readProxyEnv(env);
  if (!hasProxy(settings)) return undefined;
  for (const v of [settings.https, settings.http]) {
    const problem = v && proxyProblem(v);
    if (problem) throw new ConfigError('CONFIG_INVALID', problem, { facts: { reason: 'proxy' } });
  }
  let loading: Promise<Loaded> | undefined;
  const proxiedFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) {
      throw new TypeError('The provider fetch takes a URL, not a Request.');
    }
    const { fetch: undiciFetch, dispatcher } = await (loading ??= load(settings));
    return (await undiciFetch(String(input), { ...init, dispatcher })) as unknown as Response;
  };
  return proxiedFetch as typeof fetch;
}

/**
 * The fetch for requests that carry a bearer token (`xtalk api`): through the proxy as above,
 * except to a loopback host, which always goes direct whatever NO_PROXY says. A proxy may be on
 * another machine, and a loopback request is plain http: the token would cross the network in clear.
 */
export function createBearerFetch(env: Env): typeof fetch {
  const proxied = createProxiedFetch(env);
  if (!proxied) return fetch;
  return ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return (isLoopbackHost(url.hostname) ? fetch : proxied)(input, init);
  }) as typeof fetch;
}

/** Fills in the proxy-aware fetch unless the caller brought its own. */
export function withProviderFetch<S extends { fetch?: typeof fetch }>(settings: S, env: Env): S {
  if (settings.fetch) return settings;
  const proxied = createProviderFetch(env);
  return proxied ? { ...settings, fetch: proxied } : settings;
}

async function load(settings: ProxyEnv): Promise<Loaded> {
  const imported = await import('undici');
  // undici is CommonJS: from ESM its exports are always on `default`, named ones only where Node's lexer finds them.
  const undici = ((imported as unknown as { default?: typeof imported }).default ?? imported) as typeof imported;
  const dispatcher = new undici.EnvHttpProxyAgent({
    // Explicit values (empty for unset) so undici never falls back to process.env on its own.
    httpProxy: settings.http?.value ?? '',
    httpsProxy: settings.https?.value ?? '',
    noProxy: settings.noProxy?.value ?? '',
    // Plain http: requests go to the proxy in absolute form, as curl sends them; many proxies
    // refuse CONNECT to ports other than 443.
    proxyTunnel: false,
  });
  return { fetch: undici.fetch as unknown as Loaded['fetch'], dispatcher };
}
