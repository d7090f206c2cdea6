import type { Context } from '../core/context.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { SessionExpiredError } from '../errors.js';
import type { AccountRecord } from '../core/session-records.js';
import type { LearnedAuthMethods, OpenIdProvider } from '../core/ports.js';
import type { AuthMethodMemory, ProviderSettings } from '../core/provider-records.js';

/** Per-request limit while the write lock is held: two calls must fit inside the SQLite busy timeout. */
const LOCKED_REQUEST_TIMEOUT_SECONDS = 10;

/** How a stored account's provider is wanted (refresh, logout, `whoami --verify`). */
export interface ProviderRequest {
  /** Fills in a revocation endpoint discovery lacks (logout decides which one). */
  revocation?: { endpoint: string; from: string } | undefined;
  /** Ends the discovery (a refresh's preparation bound). */
  deadline?: AbortSignal | undefined;
  /** The client authentication method learned for the account's issuer and client (see authMethodMemory). */
  authMethods?: ((issuer: string, clientId: string) => AuthMethodMemory) | undefined;
  /** The store the use case works in (a refresh holds its write lock), for what is learned; default the run's. */
  learnedIn?: (() => LearnedAuthMethods) | undefined;
}

/**
 * The provider client for a stored account, with this machine's client secret when it is the same
 * client (a run's `provider(account)`, src/auth/run.ts).
 */
export function discoverFor(
  machine: Pick<Context, 'now' | 'discover'>,
  config: ResolvedConfig,
  account: AccountRecord,
  { revocation, deadline, authMethods }: ProviderRequest = {},
): Promise<OpenIdProvider> {
  const clientId = account.clientId ?? config.clientId;
  if (!clientId) throw new SessionExpiredError('SESSION_EXPIRED', 'The stored session does not say which client it belongs to.');
  const sameClient = config.issuer === account.issuer && config.clientId === clientId;
  return machine.discover({
    issuer: account.issuer,
    clientId,
    ...(sameClient ? clientSettings(config) : {}),
    clientSecret: sameClient ? config.clientSecret : undefined,
    authMethodMemory: authMethods?.(account.issuer, clientId),
    revocationEndpoint: revocation?.endpoint,
    revocationEndpointFrom: revocation?.from,
    timeoutSeconds: Math.min(LOCKED_REQUEST_TIMEOUT_SECONDS, config.httpTimeoutSeconds),
    deadline,
    now: machine.now,
  });
}

/** How this machine's configured client presents itself: discovery URL, ID-token alg, auth method. */
export function clientSettings(config: ResolvedConfig): Pick<ProviderSettings, 'discoveryUrl' | 'idTokenSigningAlg' | 'tokenAuthMethod'> {
  return { discoveryUrl: config.discoveryUrl, idTokenSigningAlg: config.idTokenSigningAlg, tokenAuthMethod: config.tokenAuthMethod };
}

/**
 * The learned client authentication method of one issuer and client in the store; the first time
 * one is learned, `notice` says so (once: from then on it is used directly, nothing is detected).
 */
export function authMethodMemory(
  store: () => LearnedAuthMethods,
  notice: (message: string) => void,
  issuer: string,
  clientId: string,
): AuthMethodMemory {
  return {
    learned: () => store().learnedAuthMethod(issuer, clientId),
    remember: (method) => {
      store().rememberAuthMethod(issuer, clientId, method);
      notice(
        `The provider refused the client secret in HTTP Basic and accepted it in the request body (${method}); xtalk remembers that for client "${clientId}" at ${issuer} (XTALK_TOKEN_AUTH_METHOD overrides it).`,
      );
    },
  };
}
