import { ProviderError } from '../../errors.js';
import type { Ui } from '../../output/ui.js';
import type { ClientConfig } from './save-session.js';
import { DEFAULT_SCOPE } from '../../core/oauth-terms.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { Accounts, LearnedScopes, OpenIdProvider } from '../../core/ports.js';

/** What to drop, in order, when a provider without `scopes_supported` answers `invalid_scope`. */
const FALLBACKS = [DEFAULT_SCOPE, 'openid profile email', 'openid'];

/**
 * The scopes to try, in order: the user's own (`--scope`, `XTALK_SCOPE`) or the list the provider
 * publishes are asked for once; otherwise what an earlier login at this issuer settled on, else the
 * default and then ever fewer scopes.
 */
export function scopeAttempts(
  config: Pick<ClientConfig, 'scope'>,
  provider: Pick<OpenIdProvider, 'publishesScopes' | 'defaultScope'>,
  learned: string | undefined,
): string[] {
  if (config.scope) return [config.scope];
  if (provider.publishesScopes) return [provider.defaultScope()];
  return learned ? [learned] : FALLBACKS;
}

/**
 * Signs in with each scope in turn while the provider answers `invalid_scope`, saying so on stderr;
 * remembers the scope that worked when it is not the first, and warns when the session got no
 * refresh token (it cannot renew itself).
 */
export async function signInWithScopes(
  deps: { ui: Ui; store: () => LearnedScopes & Pick<Accounts, 'hasRefreshToken'>; provider: OpenIdProvider },
  config: ClientConfig,
  attempt: (config: ClientConfig) => Promise<AccountRecord>,
): Promise<AccountRecord> {
  const { ui, provider } = deps;
  const scopes = scopeAttempts(config, provider, deps.store().learnedScope(provider.issuer));
  for (let i = 0; ; i++) {
    const scope = scopes[i]!;
    let account: AccountRecord;
    try {
      account = await attempt({ ...config, scope });
    } catch (e) {
      const next = scopes[i + 1];
      if (!(e instanceof ProviderError) || e.error !== 'invalid_scope' || next === undefined) throw e;
      const dropped = scope.split(' ').filter((s) => !next.split(' ').includes(s));
      ui.warn(
        `The provider refused the scope${dropped.length === 1 ? '' : 's'} ${dropped.join(', ')} (invalid_scope) and publishes no scopes_supported; signing in again with "${next}".`,
      );
      continue;
    }
    const store = deps.store();
    if (i > 0) store.rememberScope(provider.issuer, scope);
    if (!store.hasRefreshToken(account.id)) {
      ui.warn(
        'The provider issued no refresh token, so this session cannot renew itself: when the access token expires, `xtalk token` asks for `xtalk login` (exit 4).',
      );
    }
    return account;
  }
}
