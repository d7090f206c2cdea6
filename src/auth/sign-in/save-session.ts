import { personClaims } from '../account-view.js';
import type { Context } from '../../core/context.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ProviderError } from '../../errors.js';
import type { Run } from '../run.js';
import type { AccountRecord, SessionIdentity } from '../../core/session-records.js';
import type { OpenIdProvider, SessionTokens } from '../../core/ports.js';
import type { TokenResult } from '../../core/provider-records.js';

export type ClientConfig = ResolvedConfig & { issuer: string; clientId: string };

/**
 * What every sign-in method needs: the run's part it uses, and the provider this sign-in discovered
 * from the configuration (not a stored account's, as the run's `provider(account)`).
 */
export type SaveSessionDeps = Pick<Run<Pick<Context, 'signal' | 'openBrowser' | 'now' | 'faultPoint' | 'sleep' | 'io'>>, 'ctx' | 'ui'> & {
  provider: OpenIdProvider;
  store: () => Pick<SessionTokens, 'saveLogin'>;
};

/**
 * Turns a validated token response into a stored session, the same for every sign-in method:
 * identity from the ID token (completed by userinfo), then one store transaction that also makes
 * the account current.
 */
export async function saveSignIn(deps: SaveSessionDeps, config: ClientConfig, result: TokenResult): Promise<AccountRecord> {
  await deps.ctx.faultPoint('login-token-response');
  const identity = await identify(deps, config, result);
  return deps.store().saveLogin(identity, result.grant, deps.ctx.now());
}

/** Who signed in: the validated ID token's claims, completed from userinfo when it lacks a name or email. */
async function identify(deps: SaveSessionDeps, config: ClientConfig, result: TokenResult): Promise<SessionIdentity> {
  const idClaims = result.idClaims;
  const sub = idClaims?.sub;
  if (typeof sub !== 'string' || !sub) {
    throw new ProviderError('PROVIDER_ERROR', 'The provider returned no ID token with a subject (sub).', {
      facts: { reason: 'no_subject' },
    });
  }
  let claims: Record<string, unknown> = personClaims(idClaims);
  if ((claims.preferred_username === undefined || claims.email === undefined) && deps.provider.hasUserinfo) {
    // A userinfo answer for another subject is rejected here, not merged.
    const info = await deps.provider.userinfo(result.grant.accessToken, sub);
    claims = { ...info, ...claims };
  }
  return {
    issuer: deps.provider.issuer,
    sub,
    username: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
    email: typeof claims.email === 'string' ? claims.email : null,
    claims,
    clientId: config.clientId,
    // Decided now, for logout: what happens to be configured then must not choose where tokens go.
    revocationEndpoint: deps.provider.revocationEndpoint ?? null,
  };
}
