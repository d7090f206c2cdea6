import { randomBytes } from 'node:crypto';
import { assertSafeBrowserUrl } from '../../browser/url-guard.js';
import type { Context } from '../../core/context.js';
import { startCallbackServer } from '../../loopback/server.js';
import type { Run } from '../run.js';
import { warnOnceAboutRefusedPeers } from '../refused-peer.js';
import { findBrowserLauncher } from '../sign-in/method-choice.js';
import type { AccountRecord } from '../../core/session-records.js';

/** Where the provider sends the browser after the sign-out; register `http://127.0.0.1/logout-callback`. */
export const POST_LOGOUT_PATH = '/logout-callback';

export type EndSessionDeps = Pick<
  Run<Pick<Context, 'signal' | 'openBrowser' | 'probeHost' | 'env' | 'platform'>>,
  'ctx' | 'ui' | 'config' | 'provider'
>;

export interface EndSessionInput {
  account: AccountRecord;
  /** The stored ID token, sent as `id_token_hint` so the provider knows whose session to end. */
  idTokenHint: string | undefined;
  /** false (`--print-sign-out-url`): print the URL only; the listener still waits for the provider. */
  launch: boolean;
  /** Whether the tokens were revoked (else only deleted here, or still held), for the words of an `unsupported`. */
  tokensRevoked: boolean;
}

/** `ended`: the provider sent the browser back; `unsupported`: it publishes no end_session_endpoint. */
export type EndSessionOutcome = 'ended' | 'unsupported';

/**
 * OpenID Connect RP-Initiated Logout 1.0, after the tokens are revoked (or in place of that, at a
 * provider without a revocation endpoint): ends the provider's browser
 * session, so the next person's `xtalk login` on this machine is asked who they are. A one-shot
 * loopback listener (127.0.0.1, Host and `state` checked) is the `post_logout_redirect_uri`; the
 * provider's redirect to it is its confirmation. The browser is sent there through the listener's
 * one-time start link, so the ID token never shows on the terminal or in a process's argv.
 */
export async function endProviderSession(deps: EndSessionDeps, opts: EndSessionInput): Promise<EndSessionOutcome> {
  const { ctx, ui } = deps;
  const { account } = opts;
  const config = deps.config();
  const provider = await deps.provider(account);
  if (!provider.endSessionEndpoint) {
    ui.warn(
      `${account.issuer} publishes no end_session_endpoint, so xtalk cannot end its browser session${opts.tokensRevoked ? '; the tokens are revoked' : ''}. ` +
        "Sign out on the provider's web page or close the browser before someone else signs in.",
    );
    return 'unsupported';
  }
  const state = randomBytes(32).toString('base64url');
  const server = await startCallbackServer({
    port: config.port,
    path: POST_LOGOUT_PATH,
    expectedState: state,
    signal: ctx.signal,
    timeoutMs: config.timeoutSeconds * 1000,
    timeoutText: {
      what: 'the sign-out at the provider',
      facts: { waitingFor: 'sign_out' },
    },
    onRefusedPeer: warnOnceAboutRefusedPeers(ui),
  });
  try {
    const endSessionUrl = assertSafeBrowserUrl(
      provider.buildEndSessionUrl({ idTokenHint: opts.idTokenHint, postLogoutRedirectUri: server.redirectUri, state })!,
    );
    // The end-session URL carries the ID token: the terminal and the browser's argv (readable by
    // every user of the machine) get a one-time local link that redirects to it instead.
    const url = server.offerStart(endSessionUrl);
    ui.debug(`listening on ${server.redirectUri}`);
    ui.info(`Open this URL on this machine to sign out of ${account.issuer} in the browser (it works once):\n${url}`);
    if (opts.launch) {
      const host = await ctx.probeHost();
      const { launcher, reason } = findBrowserLauncher({ env: ctx.env, platform: ctx.platform, ...host });
      if (!launcher) ui.info(`No browser can be opened here (${reason}); open the URL above yourself.`);
      else {
        try {
          await ctx.openBrowser(url, launcher.kind === 'wsl' ? launcher.via : undefined);
        } catch (e) {
          ui.warn(`Could not open a browser (${(e as Error).message}); open the URL above yourself.`);
        }
      }
    }
    const stop = ui.progress(
      `Waiting for the provider to confirm the sign-out (Ctrl-C to cancel, gives up after ${config.timeoutSeconds} s)…`,
    );
    let callback;
    try {
      callback = await server.waitForCallback();
    } finally {
      stop();
    }
    await callback.respond({ ok: true, title: 'Signed out', message: `You are signed out of ${account.issuer} — you can close this tab.` });
    return 'ended';
  } finally {
    await server.close();
  }
}
