import { join } from 'node:path';
import type { Run } from '../auth/run.js';
import type { ConfigSource, ResolvedConfig } from '../config/resolve.js';
import type { Context } from '../core/context.js';
import { isXtalkError } from '../errors.js';
import { fail, ok, type CheckResult } from './check.js';

export interface ConfigCheck {
  result: CheckResult;
  /** Undefined when the configuration could not be read at all. */
  config: ResolvedConfig | undefined;
}

const SETUP_FIX =
  'Set XTALK_ISSUER and XTALK_CLIENT_ID (and XTALK_CLIENT_SECRET for a confidential client), pass --issuer/--client-id, or run in a folder with an X-Talk .env (OIDC_DISCOVERY_ENDPOINT, OAUTH2_CLIENT_ID).';

/** Which settings were found, and where each came from; fails without an issuer or client id. */
export function checkConfig(run: Pick<Run<Pick<Context, 'cwd'>>, 'ctx' | 'config'>): ConfigCheck {
  let config: ResolvedConfig;
  try {
    config = run.config();
  } catch (e) {
    if (!isXtalkError(e)) throw e;
    return { result: fail('config', e.message, e.hint), config: undefined };
  }
  const where = (source: ConfigSource | undefined): string => describeSource(source, run.ctx.cwd, config.paths.configFile);
  const missing = [!config.issuer && 'issuer', !config.clientId && 'client id'].filter(Boolean);
  const found = [
    config.issuer && `issuer ${config.issuer} (${where(config.sources.issuer)})`,
    config.discoveryUrl && `discovery URL ${config.discoveryUrl}`,
    config.clientId && `client id ${config.clientId} (${where(config.sources.clientId)})`,
    config.clientSecret
      ? `client secret set (${where(config.sources.clientSecret)})`
      : config.clientId && 'no client secret (public client)',
    config.revocationEndpoint && `revocation endpoint (${where(config.sources.revocationEndpoint)})`,
    config.idTokenSigningAlg && `ID tokens ${config.idTokenSigningAlg} (${where(config.sources.idTokenSigningAlg)})`,
    config.tokenAuthMethod && `token endpoint auth ${config.tokenAuthMethod} (${where(config.sources.tokenAuthMethod)})`,
    config.insecureHttpOrigins.length > 0 &&
      `bearer token allowed over plain http to ${config.insecureHttpOrigins.join(', ')} (${where(config.sources.insecureHttpOrigins)})`,
    notUsedFromDotenv(config),
  ].filter(Boolean);
  if (missing.length > 0) {
    const has = found.length > 0 ? `; found ${found.join(', ')}` : '';
    return { result: fail('config', `no ${missing.join(' and ')} configured${has}`, SETUP_FIX), config };
  }
  return { result: ok('config', `${found.join(', ')}; data in ${config.paths.dataDir}`), config };
}

/** The xtalk names `./.env` gives that are not used (src/core/settings-sources.ts says why); other programs' names are left out. */
function notUsedFromDotenv(config: ResolvedConfig): string | undefined {
  const names = config.dotenv?.unused
    .filter((u) => u.why !== 'unknown')
    .map((u) => (u.why === 'overridden' ? `${u.name} (${u.by} gives it)` : `${u.name} (a .env may not set it)`));
  return names?.length ? `not used from ${config.dotenv!.path}: ${names.join(', ')}` : undefined;
}

function describeSource(source: ConfigSource | undefined, cwd: string, configFile: string): string {
  switch (source) {
    case 'flag':
      return 'command-line flag';
    case 'env':
      return 'environment';
    case '.env':
      return join(cwd, '.env');
    case 'config':
      return configFile;
    default:
      return 'default';
  }
}
