import type { Context } from '../core/context.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { SessionExpiredError } from '../errors.js';
import type { AccountRecord } from '../core/session-records.js';
import type { OpenIdProvider } from '../core/ports.js';
import type { ProviderSettings } from '../core/provider-records.js';

/** Per-request limit while the write lock is held: two calls must fit inside the SQLite busy timeout. */
const LOCKED_REQUEST_TIMEOUT_SECONDS = 10;

/** What finding a stored account's provider needs (refresh, logout, `whoami --verify`). */
export interface ProviderForDeps {
  ctx: Pick<Context, 'now' | 'discover'>;
  config: ResolvedConfig;
}

/**
 * The provider client for a stored account, with this machine's client secret when it is the same
 * client. `revocation` fills in an endpoint discovery lacks (logout decides which one).
 */
export function discoverFor(
  deps: ProviderForDeps,
  account: AccountRecord,
  revocation?: { endpoint: string; from: string },
  deadline?: AbortSignal,
): Promise<OpenIdProvider> {
  const { config } = deps;
  const clientId = account.clientId ?? config.clientId;
  if (!clientId) throw new SessionExpiredError('SESSION_EXPIRED', 'The stored session does not say which client it belongs to.');
  const sameClient = config.issuer === account.issuer && config.clientId === clientId;
  return deps.ctx.discover({
    issuer: account.issuer,
    clientId,
    ...(sameClient ? clientSettings(config) : {}),
    clientSecret: sameClient ? config.clientSecret : undefined,
    revocationEndpoint: revocation?.endpoint,
    revocationEndpointFrom: revocation?.from,
    timeoutSeconds: Math.min(LOCKED_REQUEST_TIMEOUT_SECONDS, config.httpTimeoutSeconds),
    deadline,
    now: deps.ctx.now,
  });
}

/** How this machine's configured client presents itself: discovery URL, ID-token alg, auth method. */
export function clientSettings(config: ResolvedConfig): Pick<ProviderSettings, 'discoveryUrl' | 'idTokenSigningAlg' | 'tokenAuthMethod'> {
  return { discoveryUrl: config.discoveryUrl, idTokenSigningAlg: config.idTokenSigningAlg, tokenAuthMethod: config.tokenAuthMethod };
}
