import { HINTS } from '../hint-words.js';
/** Proxy settings as read from an environment; each value is the variable's name and its content. */
export interface ProxyEnv {
  http: ProxyVariable | undefined;
  https: ProxyVariable | undefined;
  noProxy: ProxyVariable | undefined;
}

export interface ProxyVariable {
  name: string;
  value: string;
}

/** Where a request to one URL goes. */
export type ProxyRoute = { kind: 'direct' } | { kind: 'bypass'; noProxy: ProxyVariable } | { kind: 'proxy'; via: ProxyVariable };

type Env = Readonly<Record<string, string | undefined>>;

// Lower case first, as undici and curl read them; an empty value counts as unset. A bare
// `host:port` means http://host:port, as with curl.
function pick(env: Env, lower: string, isProxy = true): ProxyVariable | undefined {
  for (const name of [lower, lower.toUpperCase()]) {
    const value = env[name]?.trim();
    if (value) return { name, value: isProxy && !/^[a-z][a-z\d+.-]*:\/\//i.test(value) ? `http://${value}` : value };
  }
  return undefined;
}

/** Why a proxy variable cannot be used, or undefined when it can. */
export function proxyProblem(v: ProxyVariable): string | undefined {
  let url: URL;
  try {
    url = new URL(v.value);
  } catch {
    return `${v.name} is not a URL: ${redactProxyUrl(v.value)}`;
  }
  if (!['http:', 'https:'].includes(url.protocol)) return `${v.name} uses ${url.protocol}, but the proxy must be http: or https:`;
  return undefined;
}

/** What to set when a proxy variable is unusable (doctor's advice; the error's hint is the same words). */
export const PROXY_FIX = HINTS.PROXY;

/** `https_proxy`/`HTTPS_PROXY`, `http_proxy`/`HTTP_PROXY`, `no_proxy`/`NO_PROXY`. */
export function readProxyEnv(env: Env): ProxyEnv {
  return { http: pick(env, 'http_proxy'), https: pick(env, 'https_proxy'), noProxy: pick(env, 'no_proxy', false) };
}

export function hasProxy(settings: ProxyEnv): boolean {
  return Boolean(settings.http || settings.https);
}

/**
 * The route undici's EnvHttpProxyAgent takes for `url`: NO_PROXY first (`*`, host names with their
 * subdomains, optional `:port`; no CIDR), then HTTPS_PROXY for https: URLs, HTTP_PROXY for http:
 * URLs and for https: ones when HTTPS_PROXY is unset. Loopback hosts are not exempt unless
 * NO_PROXY names them, as with curl.
 */
export function routeFor(url: URL, settings: ProxyEnv): ProxyRoute {
  const via = url.protocol === 'https:' ? (settings.https ?? settings.http) : settings.http;
  if (!via) return { kind: 'direct' };
  if (settings.noProxy && matchesNoProxy(url, settings.noProxy.value)) return { kind: 'bypass', noProxy: settings.noProxy };
  return { kind: 'proxy', via };
}

function matchesNoProxy(url: URL, noProxy: string): boolean {
  if (noProxy.trim() === '*') return true;
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const entry of noProxy.split(/[,\s]/)) {
    if (!entry) continue;
    const m = /^(.+):(\d+)$/.exec(entry);
    const name = (m ? m[1]! : entry).replace(/^\*?\./, '').toLowerCase();
    if (m && Number(m[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** A proxy URL fit for printing: user and password become `***`. */
export function redactProxyUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    url.username = '***';
    url.password = '';
    return url.href.replace(/\/$/, value.endsWith('/') ? '/' : '');
  } catch {
    // Not a URL: hide anything that looks like userinfo all the same.
    return value.replace(/^([^/]*\/\/)?[^@/]*@/, '$1***@');
  }
}
