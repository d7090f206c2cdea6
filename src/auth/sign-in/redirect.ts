import { randomBytes } from 'node:crypto';
import { assertSafeBrowserUrl } from '../../browser/url-guard.js';
import { XtalkError } from '../../errors.js';
import { startCallbackServer, type CallbackRequest } from '../../loopback/server.js';
import { displayName } from '../account-view.js';
import { warnOnceAboutRefusedPeers } from '../refused-peer.js';
import type { BrowserLauncher } from './method-choice.js';
import { saveSignIn, type ClientConfig, type SaveSessionDeps } from './save-session.js';
import { readPastedCallback, type PasteReader } from './paste-callback.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { LoginPrompt } from '../../core/provider-records.js';

export type { ClientConfig, SaveSessionDeps } from './save-session.js';

export interface RedirectSignInOptions {
  /** Launch a browser this way; undefined prints the URL only (the user opens it, e.g. through `ssh -L`). */
  launcher: BrowserLauncher | undefined;
  /**
   * Also read the redirected address pasted on stdin, racing the listener. `required` (`--manual`)
   * makes the end of stdin without a matching address an error; `optional` just stops reading.
   */
  paste: 'off' | 'optional' | 'required';
  /** Printed under the URL, e.g. the `ssh -L` command. */
  hint?: string | undefined;
  /** Passed to the provider as `login_hint`. */
  loginHint?: string | undefined;
  /** `prompt` and `max_age` for the provider (`--prompt`, `--fresh`); max_age also checks `auth_time`. */
  prompt?: LoginPrompt | undefined;
  maxAge?: number | undefined;
}

/**
 * The authorization-code sign-in: loopback listener first, then the authorization URL (PKCE S256,
 * state, nonce; a launched browser gets a one-time local link to it), then the redirect — through
 * the listener or pasted on stdin, whichever comes first — then the code exchange with full
 * ID-token validation, then one store transaction. The new account becomes the current one.
 */
export async function signInWithRedirect(deps: SaveSessionDeps, config: ClientConfig, opts: RedirectSignInOptions): Promise<AccountRecord> {
  const { ctx, ui, provider } = deps;
  const state = randomBytes(32).toString('base64url');
  const server = await startCallbackServer({
    port: config.port,
    expectedState: state,
    signal: ctx.signal,
    timeoutMs: config.timeoutSeconds * 1000,
    onRefusedPeer: warnOnceAboutRefusedPeers(ui),
  });
  let paste: PasteReader | undefined;
  // The provider's signing keys are fetched while the user is in the browser, so that checking the
  // ID token needs no request after the code's exchange; given up on when the sign-in ends.
  const keys = new AbortController();
  try {
    const request = await provider.createAuthorizationRequest({
      redirectUri: server.redirectUri,
      scope: config.scope ?? provider.defaultScope(),
      state,
      loginHint: opts.loginHint,
      prompt: opts.prompt,
      maxAge: opts.maxAge,
    });
    void provider.prefetchKeys({ signal: keys.signal, warm: true });
    ui.debug(`listening on ${server.redirectUri}`);
    assertSafeBrowserUrl(request.url);
    ui.info(`Open this URL to sign in:\n${request.url}`);
    if (opts.hint) ui.info(opts.hint);
    if (opts.launcher) {
      // A browser's argv is readable by every user of the machine (ps): it gets a one-time link to
      // the listener, which redirects to the authorization URL, never the state, nonce or challenge.
      const startUrl = server.offerStart(request.url);
      try {
        await ctx.openBrowser(startUrl, opts.launcher.kind === 'wsl' ? opts.launcher.via : undefined);
      } catch (e) {
        ui.warn(`Could not open a browser (${(e as Error).message}); open the URL above yourself.`);
      }
    }
    let stopProgress = () => {};
    if (opts.paste === 'off') {
      stopProgress = ui.progress(
        `Waiting for you to sign in in the browser (Ctrl-C to cancel, gives up after ${config.timeoutSeconds} s)…`,
      );
    } else {
      ui.info(
        `After you sign in, the browser is sent to ${server.redirectUri}?… — if that page does not load (the browser runs on another ` +
          `machine), copy the whole address from its address bar and paste it here. xtalk waits up to ${config.timeoutSeconds} s (Ctrl-C to cancel).`,
      );
      paste = readPastedCallback({
        stdin: ctx.io.stdin,
        ui,
        redirectUri: server.redirectUri,
        expectedState: state,
        failAtEnd: opts.paste === 'required',
      });
    }
    let arrival: { callback: CallbackRequest } | { pasted: URL };
    try {
      arrival = await Promise.race([
        server.waitForCallback().then((callback) => ({ callback })),
        ...(paste ? [paste.result.then((pasted) => ({ pasted }))] : []),
      ]);
    } finally {
      stopProgress();
      paste?.stop();
    }

    if ('pasted' in arrival) {
      ui.debug('using the pasted redirect address');
      // Nothing may arrive at the listener any more; a late browser gets the "stopped waiting" page.
      void server.close();
      const result = await provider.exchangeCode(arrival.pasted, request);
      return await saveSignIn(deps, config, result);
    }
    const { callback } = arrival;
    try {
      const result = await provider.exchangeCode(callback.url, request);
      const account = await saveSignIn(deps, config, result);
      await callback.respond({
        ok: true,
        title: 'Signed in',
        message: `Signed in as ${displayName(account)} — you can close this tab.`,
      });
      return account;
    } catch (e) {
      await callback
        .respond({
          ok: false,
          title: 'Sign-in failed',
          message: e instanceof XtalkError ? e.message : 'xtalk could not finish the sign-in.',
        })
        .catch(() => {});
      throw e;
    }
  } finally {
    keys.abort();
    paste?.stop();
    await server.close();
  }
}
