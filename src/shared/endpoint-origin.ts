import { ConfigError } from '../errors.js';

/**
 * The rule for every endpoint that receives a token or the client secret but does not come from
 * the issuer's own discovery document (a configured or stored revocation endpoint, today): it must
 * share the issuer's origin — scheme, host and port. Otherwise a `.env` in a cloned repository, or
 * anything else that can set a variable, could send the session to a server of its choosing.
 * Throws a ConfigError naming both URLs and where the endpoint came from.
 */
export function checkSameOrigin(issuer: string, endpoint: string, what: string, from: string | undefined): void {
  const issuerOrigin = originOf(issuer);
  const endpointOrigin = originOf(endpoint);
  if (issuerOrigin !== undefined && endpointOrigin === issuerOrigin) return;
  throw new ConfigError(
    'CONFIG_INVALID',
    `The ${what} ${endpoint}${from ? ` (from ${from})` : ''} is not on the origin of the issuer ${issuer}; ` +
      `xtalk sends tokens and the client secret only to endpoints the issuer's discovery document names or on ${issuerOrigin ?? 'its origin'}.`,
    { facts: { reason: 'endpoint_origin', from } },
  );
}

function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    // Opaque origins ("null") never match anything.
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
