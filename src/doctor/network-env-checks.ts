import { PROXY_FIX, proxyProblem, readProxyEnv, redactProxyUrl, routeFor, type ProxyVariable } from '../net/proxy-env.js';
import { fail, ok, warn, type CheckResult } from './check.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The proxy variables in effect, and the route provider calls to `issuer` take. */
export function checkProxy(env: Env, issuer: string | undefined): CheckResult {
  const settings = readProxyEnv(env);
  const show = (v: ProxyVariable) => `${v.name}=${redactProxyUrl(v.value)}`;
  for (const v of [settings.https, settings.http]) {
    const problem = v && proxyProblem(v);
    if (problem) return fail('proxy', problem, PROXY_FIX);
  }
  const shown = [settings.https, settings.http, settings.noProxy].filter((v): v is ProxyVariable => Boolean(v)).map(show);
  if (!settings.https && !settings.http) {
    const extra = settings.noProxy ? ` (${show(settings.noProxy)} has nothing to do)` : '';
    return ok('proxy', `no HTTPS_PROXY or HTTP_PROXY: provider calls connect directly${extra}`);
  }
  if (!issuer) return ok('proxy', shown.join(', '));
  const route = routeFor(new URL(issuer), settings);
  const where =
    route.kind === 'proxy'
      ? `${issuer} goes through ${redactProxyUrl(route.via.value)} (${route.via.name})`
      : route.kind === 'bypass'
        ? `${issuer} bypasses the proxy (${route.noProxy.name})`
        : `${issuer} connects directly (no proxy variable for ${new URL(issuer).protocol.slice(0, -1)})`;
  return ok('proxy', `${shown.join(', ')}; ${where}`);
}

/** NODE_EXTRA_CA_CERTS (a corporate or TLS-inspecting proxy's CA) and disabled certificate checks. */
export function checkCa(env: Env, readFile: (path: string) => Buffer): CheckResult {
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    return warn(
      'ca',
      'NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate checks: anyone on the path can impersonate the provider',
      'Unset NODE_TLS_REJECT_UNAUTHORIZED; trust a corporate CA with NODE_EXTRA_CA_CERTS instead.',
    );
  }
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return ok('ca', "Node's built-in CA certificates only (NODE_EXTRA_CA_CERTS unset)");
  let pem: string;
  try {
    pem = readFile(file).toString('utf8');
  } catch (e) {
    return fail(
      'ca',
      `NODE_EXTRA_CA_CERTS=${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'Point NODE_EXTRA_CA_CERTS at a readable PEM file with the CA certificate(s), or unset it.',
    );
  }
  const count = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (count === 0) {
    return fail(
      'ca',
      `NODE_EXTRA_CA_CERTS=${file} holds no PEM certificate`,
      'Export the CA certificate in PEM form (-----BEGIN CERTIFICATE-----) and point NODE_EXTRA_CA_CERTS at it.',
    );
  }
  return ok('ca', `NODE_EXTRA_CA_CERTS=${file}: ${count} extra CA certificate${count === 1 ? '' : 's'} besides Node's built-in ones`);
}
