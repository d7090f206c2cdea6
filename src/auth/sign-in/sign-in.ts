import type { Context } from '../../core/context.js';
import { ProviderError, UsageError } from '../../errors.js';
import type { Run } from '../run.js';
import { displayName } from '../account-view.js';
import { authMethodMemory, clientSettings } from '../provider-for.js';
import { signInWithDevice } from './device-flow.js';
import { signInWithRedirect } from './redirect.js';
import { signInWithScopes } from './scope-fallback.js';
import { acquireSignInLock } from './sign-in-lock.js';
import { chooseSignInMethod, sshForwardHint, type SignInMethodChoice } from './method-choice.js';
import type { ClientConfig, SaveSessionDeps } from './save-session.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { LoginPrompt } from '../../core/provider-records.js';
import type { Accounts, LearnedAuthMethods, LearnedScopes, SessionTokens } from '../../core/ports.js';

/** How the user asked to sign in; none of the flags set means "choose by yourself". */
export interface SignInRequest {
  /** `false` for `--no-browser`. */
  browser?: boolean | undefined;
  manual?: boolean | undefined;
  device?: boolean | undefined;
  /** `--account`, passed to the provider as `login_hint`. */
  account?: string | undefined;
  /** `--prompt`, or `login` for `--fresh`. */
  prompt?: LoginPrompt | undefined;
  /** 0 for `--fresh`: the provider must authenticate anew, checked through the ID token's `auth_time`. */
  maxAge?: number | undefined;
}

/** The part of a run a sign-in uses; of the store, only the parts it calls. */
export type SignInDeps = Pick<Run, 'ctx' | 'ui'> & { store: () => Accounts & SessionTokens & LearnedScopes & LearnedAuthMethods };

/** What to sign in to (the configuration with an issuer and a client id) and how the user asked for it. */
export interface SignInInput extends SignInRequest {
  config: ClientConfig;
}

/**
 * The whole `xtalk login`: one login per issuer at a time (a second one waits and then uses the
 * session the first stored), discovery, a store that can keep the session, the sign-in method
 * (browser, printed URL, pasted address or device code), and the sign-in itself.
 */
export async function signIn(deps: SignInDeps, request: SignInInput): Promise<AccountRecord> {
  const { ctx, ui } = deps;
  const { config } = request;
  const startedAt = ctx.now();
  const lock = await acquireSignInLock({
    dir: config.paths.dataDir,
    issuer: config.issuer,
    pid: ctx.pid,
    now: ctx.now,
    sleep: ctx.sleep,
    signal: ctx.signal,
    isProcessAlive: ctx.isProcessAlive,
    timeoutMs: config.timeoutSeconds * 1000,
    onWait: (holder) =>
      ui.info(`Another xtalk login for ${config.issuer} is in progress (pid ${holder.pid}); waiting for it to finish (Ctrl-C to cancel)…`),
  });
  try {
    // A forced sign-in (--fresh, --prompt) must not take over a session someone else's login made.
    const mayAdopt = lock.waitedFor && request.prompt === undefined && request.maxAge === undefined;
    const adopted = mayAdopt ? sessionFromOtherSignIn(deps.store(), config, request.account, startedAt) : undefined;
    if (adopted) ui.info(`The other xtalk login signed in as ${displayName(adopted)}; using that session.`);
    return adopted ?? (await signInOnce(deps, config, request));
  } finally {
    lock.release();
  }
}

async function signInOnce(deps: SignInDeps, config: ClientConfig, request: SignInRequest): Promise<AccountRecord> {
  const { ctx, ui } = deps;
  const provider = await ctx.discover({
    issuer: config.issuer,
    clientId: config.clientId,
    ...clientSettings(config),
    clientSecret: config.clientSecret,
    authMethodMemory: authMethodMemory(deps.store, (m) => ui.info(m), config.issuer, config.clientId),
    revocationEndpoint: config.revocationEndpoint,
    revocationEndpointFrom: config.origins.revocationEndpoint,
    timeoutSeconds: config.httpTimeoutSeconds,
    // Nothing is sent for yet: Ctrl-C ends a discovery that hangs at once.
    signal: ctx.signal,
    now: ctx.now,
  });
  const followed = provider.discovery.redirects.map((r) => ` after HTTP ${r.status} from ${r.from}`).join('');
  ui.debug(`discovered ${provider.issuer} at ${provider.discovery.url}${followed}`);
  // A store that cannot keep the session must fail before anyone signs in and tokens are issued.
  deps.store();
  const forcing = request.prompt !== undefined || request.maxAge !== undefined;
  if (forcing && request.device) {
    throw new UsageError('USAGE', '--prompt and --fresh need a browser redirect; the device flow cannot pass them on.', {
      facts: { reason: 'device_with_prompt' },
    });
  }
  const forced = Boolean(request.manual || request.device || request.browser === false);
  const host = forced && !request.device ? { procVersion: undefined, wslview: undefined, powershell: undefined } : await ctx.probeHost();
  const choice = chooseSignInMethod({
    flags: { browser: request.browser, manual: request.manual, device: request.device },
    env: ctx.env,
    platform: ctx.platform,
    ...host,
    // The device flow has no prompt or max_age: a forced sign-in prints the URL instead.
    providerHasDeviceFlow: Boolean(provider.deviceAuthorizationEndpoint) && !forcing,
    stdinIsTTY: ctx.io.stdinIsTTY,
  });
  ui.debug(
    `login method: ${choice.method}${choice.launcher ? ` (browser: ${choice.launcher.kind})` : ''}${choice.paste ? ', paste prompt' : ''}`,
  );
  if (choice.notice) ui.info(choice.notice);
  const saveSessionDeps: SaveSessionDeps = { ctx, ui, provider, store: deps.store };
  return signInWithScopes({ ui, provider, store: deps.store }, config, (scoped) =>
    signInWithMethod(ctx, saveSessionDeps, scoped, request, choice),
  );
}

async function signInWithMethod(
  ctx: Context,
  saveSessionDeps: SaveSessionDeps,
  config: ClientConfig,
  request: SignInRequest,
  choice: SignInMethodChoice,
): Promise<AccountRecord> {
  const { ui } = saveSessionDeps;
  if (choice.method === 'device') {
    try {
      return await signInWithDevice(saveSessionDeps, config, { launcher: choice.launcher });
    } catch (e) {
      // The endpoint exists but this client may not use it: an automatic choice falls back.
      if (!choice.notice || !(e instanceof ProviderError) || e.error !== 'unauthorized_client') throw e;
      ui.warn(`${e.message} Falling back to the browser redirect.`);
      return signInWithRedirect(
        saveSessionDeps,
        config,
        redirectOptions(ctx, config, request, { ...choice, method: 'no-browser', paste: ctx.io.stdinIsTTY }),
      );
    }
  }
  return signInWithRedirect(saveSessionDeps, config, redirectOptions(ctx, config, request, choice));
}

function redirectOptions(ctx: Context, config: ClientConfig, request: SignInRequest, choice: SignInMethodChoice) {
  return {
    launcher: choice.method === 'browser' ? choice.launcher : undefined,
    paste: choice.method === 'manual' ? ('required' as const) : choice.paste ? ('optional' as const) : ('off' as const),
    hint: choice.method === 'no-browser' ? sshForwardHint(ctx.env, config.port) : undefined,
    loginHint: request.account,
    prompt: request.prompt,
    maxAge: request.maxAge,
  };
}

/**
 * After waiting for another login to the same issuer: the session it stored, if it stored one
 * meanwhile (and for the requested account, when --account names one).
 */
function sessionFromOtherSignIn(
  store: Accounts,
  config: ClientConfig,
  selector: string | undefined,
  since: number,
): AccountRecord | undefined {
  const account = store.currentAccount();
  if (!account || account.issuer !== config.issuer) return undefined;
  if (Date.parse(account.updatedAt) < since - 1000 || !store.hasSession(account.id)) return undefined;
  if (selector && ![account.sub, account.username, account.email].includes(selector)) return undefined;
  return account;
}
