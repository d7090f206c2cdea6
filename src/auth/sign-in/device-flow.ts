import { isSafeBrowserUrl } from '../../browser/url-guard.js';
import { ProviderError, XtalkError } from '../../errors.js';
import type { BrowserLauncher } from './method-choice.js';
import { saveSignIn, type ClientConfig, type SaveSessionDeps } from './save-session.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { DeviceAuthorization, DevicePoll, TokenResult } from '../../core/provider-records.js';

/** RFC 8628 §3.5: without an `interval` from the provider, poll every 5 s; `slow_down` adds 5 s. */
export const DEFAULT_POLL_INTERVAL_MS = 5000;
export const SLOW_DOWN_STEP_MS = 5000;

export interface DeviceSignInOptions {
  /** Open the verification page (with the code in it) this way; undefined only prints it. */
  launcher: BrowserLauncher | undefined;
}

export interface PollDeps {
  poll(): Promise<DevicePoll>;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  now(): number;
  signal?: AbortSignal;
  /** Called with the new interval whenever the provider asks to slow down. */
  onSlowDown?(intervalMs: number): void;
}

/**
 * The RFC 8628 polling loop: waits `interval` before every poll, adds 5 s on each `slow_down`, and
 * gives up when the device code expires or `timeoutMs` passes, whichever is first.
 */
export async function pollForDeviceTokens(
  deps: PollDeps,
  authorization: Pick<DeviceAuthorization, 'expiresIn' | 'interval'>,
  timeoutMs: number,
): Promise<TokenResult> {
  const start = deps.now();
  const expiresAt = start + authorization.expiresIn * 1000;
  const giveUpAt = Math.min(expiresAt, start + timeoutMs);
  let intervalMs =
    authorization.interval !== undefined && authorization.interval > 0 ? authorization.interval * 1000 : DEFAULT_POLL_INTERVAL_MS;
  for (;;) {
    // Never poll sooner than the interval, not even once more right before giving up.
    if (deps.now() + intervalMs > giveUpAt) {
      await deps.sleep(Math.max(0, giveUpAt - deps.now()), deps.signal);
      if (giveUpAt === expiresAt) {
        throw new ProviderError('PROVIDER_ERROR', 'The code expired before the sign-in was approved.', {
          facts: { reason: 'device_code_expired' },
        });
      }
      throw new XtalkError('ERROR', `Timed out after ${timeoutMs / 1000} s waiting for the sign-in to be approved.`, {
        facts: { reason: 'device_timeout' },
      });
    }
    await deps.sleep(intervalMs, deps.signal);
    const answer = await deps.poll();
    if (answer.status === 'approved') return answer.result;
    if (answer.status === 'slow_down') {
      intervalMs += SLOW_DOWN_STEP_MS;
      deps.onSlowDown?.(intervalMs);
    }
  }
}

/**
 * The device sign-in: asks the provider for a user code, shows it with the verification URI (and
 * opens the complete URI when a browser can be shown), polls until approved, then stores the
 * session exactly as the redirect sign-in does.
 */
export async function signInWithDevice(deps: SaveSessionDeps, config: ClientConfig, opts: DeviceSignInOptions): Promise<AccountRecord> {
  const { ctx, ui, provider } = deps;
  const scope = config.scope ?? provider.defaultScope();
  const authorization = await provider.startDeviceAuthorization(scope);
  const complete = authorization.verificationUriComplete;
  const waitSeconds = Math.min(authorization.expiresIn, config.timeoutSeconds);
  ui.info(
    `To sign in, open this page in a browser on any device:\n${authorization.verificationUri}\nand enter the code:\n\n    ${authorization.userCode}\n`,
  );
  if (complete) ui.info(`Or open this address, which already carries the code:\n${complete}`);
  const target = complete ?? authorization.verificationUri;
  if (opts.launcher && isSafeBrowserUrl(target)) {
    try {
      await ctx.openBrowser(target, opts.launcher.kind === 'wsl' ? opts.launcher.via : undefined);
    } catch (e) {
      ui.warn(`Could not open a browser (${(e as Error).message}); open the address above yourself.`);
    }
  }
  const stop = ui.progress(`Waiting for you to approve the sign-in (Ctrl-C to cancel, gives up after ${waitSeconds} s)…`);
  let result: TokenResult;
  try {
    result = await pollForDeviceTokens(
      {
        poll: () => provider.pollDeviceToken(authorization.deviceCode, scope),
        sleep: ctx.sleep,
        now: ctx.now,
        signal: ctx.signal,
        onSlowDown: (ms) => ui.debug(`the provider asked to slow down; polling every ${ms / 1000} s`),
      },
      authorization,
      config.timeoutSeconds * 1000,
    );
  } finally {
    stop();
  }
  return saveSignIn(deps, config, result);
}
