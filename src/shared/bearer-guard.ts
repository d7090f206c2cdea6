import { type BearerPolicy, type BearerRefusal, type BearerVerdict, judgeBearerDestination } from '../core/bearer-destination.js';
import { XtalkError } from '../errors.js';

/**
 * The rule of src/core/bearer-destination.ts as a guard: every door that is about to attach the
 * bearer token (`xtalk api`, `createFetch`) calls this, and a refused destination ends the request
 * before anything is sent.
 */

const WHY: Record<BearerRefusal, string> = {
  'not-a-url': 'it is not a URL',
  'not-http': 'only https: (or http:) URLs may carry it',
  'credentials-in-url': 'the URL carries a user name or password',
  'origin-not-allowed': 'that origin is neither the configured API nor the issuer, and was not named as allowed',
  'not-https': 'plain http: to a host other than this machine would send it in clear',
};

/**
 * As {@link judgeBearerDestination}, throwing XtalkError BEARER_DESTINATION_REFUSED (exit 2, facts
 * origin and reason; the hint in src/hints.ts) for a refused destination.
 */
export function requireBearerDestination(target: string | URL, policy: BearerPolicy): Extract<BearerVerdict, { ok: true }> {
  const verdict = judgeBearerDestination(target, policy);
  if (verdict.ok) return verdict;
  throw new XtalkError('BEARER_DESTINATION_REFUSED', `Refused to send the access token to ${verdict.origin}: ${WHY[verdict.reason]}.`, {
    facts: { origin: verdict.origin, reason: verdict.reason },
  });
}
