import type { Run } from '../auth/run.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { isXtalkError } from '../errors.js';
import { ok, type CheckResult } from './check.js';

/**
 * What logins learned about the configured issuer and client and now use without asking: the scope
 * the provider settled on (it refused the default) and the client authentication method detected
 * (it refused the secret in HTTP Basic). Undefined when nothing was learned or nothing is stored;
 * a store that cannot be opened is the session check's to report.
 */
export function checkLearned(
  run: Pick<Run, 'storeExists' | 'store'>,
  config: Pick<ResolvedConfig, 'issuer' | 'clientId' | 'scope' | 'tokenAuthMethod'>,
): CheckResult | undefined {
  if (!config.issuer || !run.storeExists()) return undefined;
  let scope: string | undefined;
  let method: string | undefined;
  try {
    const store = run.store();
    scope = store.learnedScope(config.issuer);
    method = config.clientId ? store.learnedAuthMethod(config.issuer, config.clientId) : undefined;
  } catch (e) {
    if (isXtalkError(e)) return undefined;
    throw e;
  }
  const parts = [
    scope && `scope "${scope}" (the provider refused more)${config.scope ? `, unused while a scope is configured` : ''}`,
    method &&
      `client "${config.clientId}" authenticates with ${method} (the provider refused its secret in HTTP Basic)${config.tokenAuthMethod ? `, unused while XTALK_TOKEN_AUTH_METHOD is set` : ''}`,
  ].filter(Boolean);
  return parts.length ? ok('learned', `at ${config.issuer}: ${parts.join('; ')}`) : undefined;
}
