import type { Command } from 'commander';
import { toAccountJson, displayName } from '../auth/account-view.js';
import { loginWithDevice } from '../auth/device-flow.js';
import { loginWithRedirect } from '../auth/login-flow.js';
import { acquireLoginLock } from '../auth/login-lock.js';
import { chooseLoginMethod, sshForwardHint, type LoginMethodChoice } from '../auth/login-method.js';
import type { ClientConfig, LoginDeps } from '../auth/login-session.js';
import { addCommonOptions, createCommandEnv, type CommandEnv, type CommonOptions } from '../cli/common.js';
import { requireClientConfig, type ConfigFlags } from '../config/resolve.js';
import type { Context } from '../context.js';
import { ProviderError } from '../errors.js';
import type { AccountRecord } from '../store/types.js';

export interface LoginOptions extends CommonOptions, ConfigFlags {
  json?: boolean;
  /** commander's negated flag: `--no-browser` sets it to false. */
  browser?: boolean;
  manual?: boolean;
  device?: boolean;
}

export function registerLogin(program: Command, ctx: Context, runner = runLogin): void {
  const cmd = program
    .command('login')
    .description('Sign in and store the session (it becomes the current account).')
    .option('--issuer <url>', 'OpenID provider (issuer) URL')
    .option('--client-id <id>', 'OAuth client id')
    .option('--scope <scopes>', 'space-separated scopes (default: openid profile email offline_access)')
    .option('--port <port>', 'loopback port for the redirect (default 0: any free port)')
    .option('--timeout <seconds>', 'how long to wait for the sign-in (default 300)')
    .option('--no-browser', 'print the URL instead of opening a browser; the listener still waits for the redirect')
    .option('--manual', 'for a browser on another machine: paste the address it is redirected to (read from stdin)')
    .option('--device', 'use the device flow (RFC 8628): enter a code on any device');
  addCommonOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Without --no-browser, --manual or --device, xtalk picks by itself: the browser when one can be shown
(a display, BROWSER, macOS, Windows, WSL with wslview or powershell.exe); otherwise (SSH, no display)
the device flow when the provider offers it, else the printed URL. It says on stderr what it chose.

The client secret is never taken from argv: set XTALK_CLIENT_SECRET or put it in .env.
--account is passed to the provider as a login hint.

Examples:
  $ XTALK_ISSUER=https://account.iottalk.tw XTALK_CLIENT_ID=my-client xtalk login
  $ xtalk login --no-browser --port 8765    # then on your computer: ssh -L 8765:127.0.0.1:8765 this-host
  $ xtalk login --manual                    # sign in anywhere, paste the address the browser ends on
  $ xtalk login --device                    # enter the shown code at the provider on any device
  $ xtalk login --json | jq -r .username`,
  );
  cmd.action(async (opts: LoginOptions) => runner(ctx, opts));
}

export async function runLogin(ctx: Context, opts: LoginOptions): Promise<void> {
  const env = createCommandEnv(ctx, opts, opts);
  try {
    const config = requireClientConfig(env.config);
    const startedAt = ctx.now();
    const lock = await acquireLoginLock({
      dir: config.paths.dataDir,
      issuer: config.issuer,
      pid: ctx.pid,
      now: ctx.now,
      sleep: ctx.sleep,
      signal: ctx.signal,
      isProcessAlive: ctx.isProcessAlive,
      timeoutMs: config.timeoutSeconds * 1000,
      onWait: (holder) =>
        env.ui.info(`Another xtalk login for ${config.issuer} is in progress (pid ${holder.pid}); waiting for it to finish (Ctrl-C to cancel)…`),
    });
    let account: AccountRecord;
    try {
      const adopted = lock.waitedFor ? sessionFromOtherLogin(env, config, opts.account, startedAt) : undefined;
      if (adopted) env.ui.info(`The other xtalk login signed in as ${displayName(adopted)}; using that session.`);
      account = adopted ?? (await signIn(ctx, env, config, opts));
    } finally {
      lock.release();
    }
    const email = account.email ? ` (${account.email})` : '';
    env.ui.success(`Logged in to ${account.issuer} as ${displayName(account)}${email}`);
    if (opts.json) {
      const store = env.store();
      env.ui.json(toAccountJson(account, store.latestAccessTokenExpiry(account.id), store.credentialStore()));
    }
  } finally {
    env.close();
  }
}

async function signIn(ctx: Context, env: CommandEnv, config: ClientConfig, opts: LoginOptions): Promise<AccountRecord> {
  const provider = await ctx.discover({
    issuer: config.issuer,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    revocationEndpoint: config.revocationEndpoint,
    timeoutSeconds: config.httpTimeoutSeconds,
    now: ctx.now,
  });
  env.ui.debug(`discovered ${provider.issuer}`);
  // A store that cannot keep the session must fail before anyone signs in and tokens are issued.
  env.store();
  const forced = Boolean(opts.manual || opts.device || opts.browser === false);
  const host = forced && !opts.device ? { procVersion: undefined, wslview: undefined, powershell: undefined } : await ctx.probeHost();
  const choice = chooseLoginMethod({
    flags: { browser: opts.browser, manual: opts.manual, device: opts.device },
    env: ctx.env,
    platform: ctx.platform,
    ...host,
    providerHasDeviceFlow: Boolean(provider.deviceAuthorizationEndpoint),
    stdinIsTTY: ctx.io.stdinIsTTY,
  });
  env.ui.debug(`login method: ${choice.method}${choice.launcher ? ` (browser: ${choice.launcher.kind})` : ''}${choice.paste ? ', paste prompt' : ''}`);
  if (choice.notice) env.ui.info(choice.notice);
  const deps: LoginDeps = { ctx, ui: env.ui, provider, store: env.store };
  if (choice.method === 'device') {
    try {
      return await loginWithDevice(deps, config, { launcher: choice.launcher });
    } catch (e) {
      // The endpoint exists but this client may not use it: an automatic choice falls back.
      if (!choice.notice || !(e instanceof ProviderError) || e.error !== 'unauthorized_client') throw e;
      env.ui.warn(`${e.message} Falling back to the browser redirect.`);
      return loginWithRedirect(deps, config, redirectOptions(ctx, config, opts, { ...choice, method: 'no-browser', paste: ctx.io.stdinIsTTY }));
    }
  }
  return loginWithRedirect(deps, config, redirectOptions(ctx, config, opts, choice));
}

function redirectOptions(ctx: Context, config: ClientConfig, opts: LoginOptions, choice: LoginMethodChoice) {
  return {
    launcher: choice.method === 'browser' ? choice.launcher : undefined,
    paste: choice.method === 'manual' ? ('required' as const) : choice.paste ? ('optional' as const) : ('off' as const),
    hint: choice.method === 'no-browser' ? sshForwardHint(ctx.env, config.port) : undefined,
    loginHint: opts.account,
  };
}

/**
 * After waiting for another login to the same issuer: the session it stored, if it stored one
 * meanwhile (and for the requested account, when --account names one).
 */
function sessionFromOtherLogin(env: CommandEnv, config: ClientConfig, selector: string | undefined, since: number): AccountRecord | undefined {
  const store = env.store();
  const account = store.currentAccount();
  if (!account || account.issuer.replace(/\/+$/, '') !== config.issuer) return undefined;
  if (Date.parse(account.updatedAt) < since - 1000 || !store.hasSession(account.id)) return undefined;
  if (selector && ![account.sub, account.username, account.email].includes(selector)) return undefined;
  return account;
}
