import { ProviderError, type FactsOf } from '../errors.js';
import { quote } from './error-text.js';
import { DISCOVERY_SUFFIX } from '../shared/url-rules.js';
import { anySignal } from '../shared/abort.js';

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

/** A discovery failure: code DISCOVERY_FAILED, with `facts.reason` (and what its hint needs) for src/hints.ts. */
function failed(message: string, facts: FactsOf<'DISCOVERY_FAILED'>): ProviderError {
  return new ProviderError('DISCOVERY_FAILED', message, { facts });
}

/**
 * Fetches the discovery document the way every command does: the given discovery URL verbatim,
 * else the well-known URL of the issuer, following at most {@link MAX_DISCOVERY_REDIRECTS}
 * redirects within the same origin (scheme, host and port). The document's `issuer` must equal the
 * configured issuer exactly (OIDC Discovery §4.3), whichever URL served it: that is what keeps a
 * redirect or a mix-up from swapping providers. Network failures are thrown as they come (the
 * caller words them); everything the provider answered becomes a ProviderError with code
 * DISCOVERY_FAILED and its `facts.reason`.
 */
export async function fetchDiscovery(req: DiscoveryRequest): Promise<DiscoveredDocument> {
  const now = req.now ?? Date.now;
  const started = now();
  const first = discoveryUrlFor(req.issuer, req.discoveryUrl);
  const origin = new URL(first).origin;
  const redirects: DiscoveredDocument['redirects'] = [];
  let url = first;
  for (;;) {
    const signal = anySignal([req.signal], req.timeoutMs);
    const res = await req.fetch(url, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'manual', signal });
    const receivedAt = now();
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      if (!location) throw failed(`Discovery at ${url} answered HTTP ${res.status} without a Location.`, { reason: 'bad_redirect' });
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw failed(`Discovery at ${url} redirects to ${quote(location)}, which is not a URL.`, { reason: 'bad_redirect' });
      }
      if (next.origin !== origin) {
        throw failed(
          `Discovery at ${url} redirects (HTTP ${res.status}) to another origin: Location ${quote(location)}; xtalk follows discovery redirects only within ${origin}.`,
          { reason: 'other_origin', origin: next.origin },
        );
      }
      if (redirects.length >= MAX_DISCOVERY_REDIRECTS) {
        throw failed(`Discovery at ${first} still redirects after ${MAX_DISCOVERY_REDIRECTS} hops (last: ${url} -> ${next.href}).`, {
          reason: 'too_many_redirects',
          next: next.href,
        });
      }
      redirects.push({ from: url, to: next.href, status: res.status });
      url = next.href;
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status >= 500)
        throw failed(`The provider answered discovery at ${url} with ${status}.`, { reason: 'provider_problem', status: res.status });
      const tried = req.discoveryUrl ? url : `${url} (the issuer ${req.issuer} plus ${DISCOVERY_SUFFIX})`;
      throw failed(`No discovery document at ${tried}: ${status}.`, {
        reason: res.status === 404 ? 'not_found' : 'bad_redirect',
        status: res.status,
      });
    }
    const metadata = await readObject(res, url);
    if (metadata.issuer !== req.issuer) {
      throw failed(
        `The discovery document at ${url} names the issuer ${quote(metadata.issuer)}, not ${quote(req.issuer)}.`,
        issuerMismatch(metadata.issuer, url),
      );
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
    throw failed(`The discovery document at ${url} is not a JSON object.`, { reason: 'not_an_object' });
  }
  return body as Record<string, unknown>;
}

/**
 * The facts of a document naming another issuer. Only a spelling of the same place (same origin,
 * e.g. a trailing slash) is worth adopting; a document from elsewhere is what a mix-up looks like.
 */
function issuerMismatch(named: unknown, url: string): FactsOf<'DISCOVERY_FAILED'> {
  if (typeof named !== 'string') return { reason: 'not_a_provider' };
  let sameOrigin = false;
  try {
    sameOrigin = new URL(named).origin === new URL(url).origin;
  } catch {
    // not a URL: not an issuer to suggest
  }
  return sameOrigin ? { reason: 'issuer_spelling', named: quote(named) } : { reason: 'other_issuer' };
}
