import { ProviderError } from '../errors.js';
import { quote } from './error-text.js';

const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';
/** Real deployments add a slash or move the document once or twice; more is a loop or a misconfiguration. */
export const MAX_DISCOVERY_REDIRECTS = 3;

export interface DiscoveryRequest {
  /** The issuer as configured; the document's `issuer` must equal it byte for byte. */
  issuer: string;
  /** A full discovery URL the user gave: fetched verbatim. */
  discoveryUrl?: string | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  now?: () => number;
}

export interface DiscoveredDocument {
  metadata: Record<string, unknown> & { issuer: string };
  /** The URL that answered with the document. */
  url: string;
  /** Each redirect followed, `from -> to` with its status. */
  redirects: { from: string; to: string; status: number }[];
  status: number;
  /** The provider's `Date` header and this machine's clock when the answer arrived (for doctor's clock check). */
  date: string | null;
  receivedAt: number;
  ms: number;
}

/** Where discovery starts: the given discovery URL, else the issuer without its final `/` plus the well-known path (OIDC Discovery §4). */
export function discoveryUrlFor(issuer: string, discoveryUrl?: string): string {
  return discoveryUrl ?? `${issuer.replace(/\/$/, '')}${DISCOVERY_SUFFIX}`;
}

const SET_ISSUER = 'Set XTALK_ISSUER (or --issuer, or OIDC_DISCOVERY_ENDPOINT in .env) to the issuer the provider names, or to its full discovery URL.';

/**
 * Fetches the discovery document the way every command does: the given discovery URL verbatim,
 * else the well-known URL of the issuer, following at most {@link MAX_DISCOVERY_REDIRECTS}
 * redirects within the same origin (scheme, host and port). The document's `issuer` must equal the
 * configured issuer exactly (OIDC Discovery §4.3), whichever URL served it: that is what keeps a
 * redirect or a mix-up from swapping providers. Network failures are thrown as they come (the
 * caller words them); everything the provider answered becomes a ProviderError with a hint.
 */
export async function fetchDiscovery(req: DiscoveryRequest): Promise<DiscoveredDocument> {
  const now = req.now ?? Date.now;
  const started = now();
  const first = discoveryUrlFor(req.issuer, req.discoveryUrl);
  const origin = new URL(first).origin;
  const redirects: DiscoveredDocument['redirects'] = [];
  let url = first;
  for (;;) {
    const signal = req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)]) : AbortSignal.timeout(req.timeoutMs);
    const res = await req.fetch(url, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'manual', signal });
    const receivedAt = now();
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      if (!location) throw new ProviderError(`Discovery at ${url} answered HTTP ${res.status} without a Location.`, { hint: SET_ISSUER });
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ProviderError(`Discovery at ${url} redirects to ${quote(location)}, which is not a URL.`, { hint: SET_ISSUER });
      }
      if (next.origin !== origin) {
        throw new ProviderError(
          `Discovery at ${url} redirects (HTTP ${res.status}) to another origin: Location ${quote(location)}; xtalk follows discovery redirects only within ${origin}.`,
          { hint: `If ${next.origin} is really your provider, set XTALK_ISSUER to the issuer it names (or its full discovery URL).` },
        );
      }
      if (redirects.length >= MAX_DISCOVERY_REDIRECTS) {
        throw new ProviderError(`Discovery at ${first} still redirects after ${MAX_DISCOVERY_REDIRECTS} hops (last: ${url} -> ${next.href}).`, {
          hint: `Set XTALK_ISSUER to the full discovery URL that answers with the document (e.g. ${next.href}).`,
        });
      }
      redirects.push({ from: url, to: next.href, status: res.status });
      url = next.href;
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status >= 500) throw new ProviderError(`The provider answered discovery at ${url} with ${status}.`, { hint: 'The provider has a problem; try again later.' });
      const tried = req.discoveryUrl ? url : `${url} (the issuer ${req.issuer} plus ${DISCOVERY_SUFFIX})`;
      throw new ProviderError(`No discovery document at ${tried}: ${status}.`, {
        hint: res.status === 404 ? `Check the issuer URL; if the provider serves its document elsewhere, set XTALK_ISSUER (or OIDC_DISCOVERY_ENDPOINT) to that full URL.` : SET_ISSUER,
      });
    }
    const metadata = await readObject(res, url);
    if (metadata.issuer !== req.issuer) {
      throw new ProviderError(`The discovery document at ${url} names the issuer ${quote(metadata.issuer)}, not ${quote(req.issuer)}.`, {
        hint: issuerMismatchHint(metadata.issuer, url),
      });
    }
    return {
      metadata: metadata as DiscoveredDocument['metadata'],
      url,
      redirects,
      status: res.status,
      date: res.headers.get('date'),
      receivedAt,
      ms: Math.round(receivedAt - started),
    };
  }
}

async function readObject(res: Response, url: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch {
    body = undefined;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProviderError(`The discovery document at ${url} is not a JSON object.`, {
      hint: 'Check that the issuer URL points at an OpenID provider, not a web page or a captive portal.',
    });
  }
  return body as Record<string, unknown>;
}

/**
 * Advice for a document naming another issuer. Only a spelling of the same place (same origin, e.g.
 * a trailing slash) is worth adopting; a document from elsewhere is what a mix-up looks like.
 */
function issuerMismatchHint(named: unknown, url: string): string {
  if (typeof named !== 'string') return 'The document is not an OpenID provider\'s; check the issuer URL.';
  let sameOrigin = false;
  try {
    sameOrigin = new URL(named).origin === new URL(url).origin;
  } catch {
    // not a URL: not an issuer to suggest
  }
  return sameOrigin
    ? `Issuers compare exactly (a trailing slash counts): set XTALK_ISSUER to exactly ${quote(named)}.`
    : `The document describes another provider; check the issuer URL (xtalk never uses a document that names a different issuer).`;
}
