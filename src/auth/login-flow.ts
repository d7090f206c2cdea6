import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { assertSafeBrowserUrl } from '../browser/url-guard.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { ProviderError, XtalkError } from '../errors.js';
import { startCallbackServer } from '../loopback/server.js';
import type { ProviderClient, TokenResult } from '../oidc/client.js';
import type { Ui } from '../output/ui.js';
import type { AccountStore } from '../store/index.js';
import type { AccountRecord, SessionIdentity } from '../store/types.js';
import { displayName } from './account-view.js';

export type ClientConfig = ResolvedConfig & { issuer: string; clientId: string };

export interface LoginOptions {
  /** Print the URL but launch nothing (the user opens it, e.g. through `ssh -L`). */
  noBrowser: boolean;
  /** Passed to the provider as `login_hint`. */
  loginHint?: string | undefined;
}

export interface LoginDeps {
  ctx: Pick<Context, 'signal' | 'openBrowser' | 'now' | 'faultPoint'>;
  ui: Ui;
  provider: ProviderClient;
  store: () => AccountStore;
}

/**
 * The browser sign-in: loopback listener first, then the authorization URL (PKCE S256, state, nonce),
 * then the code exchange with full ID-token validation, then one store transaction.
 * The new account becomes the current one.
 */
export async function loginWithBrowser(deps: LoginDeps, config: ClientConfig, opts: LoginOptions): Promise<AccountRecord> {
  const { ctx, ui, provider } = deps;
  const state = randomBytes(32).toString('base64url');
  const server = await startCallbackServer({
    port: config.port,
    expectedState: state,
    signal: ctx.signal,
    timeoutMs: config.timeoutSeconds * 1000,
  });
  try {
    const request = await provider.createAuthorizationRequest({
      redirectUri: server.redirectUri,
      scope: config.scope ?? provider.defaultScope(),
      state,
      loginHint: opts.loginHint,
    });
    ui.debug(`listening on ${server.redirectUri}`);
    assertSafeBrowserUrl(request.url);
    ui.info(`Open this URL to sign in:\n${request.url}`);
    if (!opts.noBrowser) {
      try {
        await ctx.openBrowser(request.url);
      } catch (e) {
        ui.warn(`Could not open a browser (${(e as Error).message}); open the URL above yourself.`);
      }
    }
    const stop = ui.progress(`Waiting for you to sign in in the browser (Ctrl-C to cancel, gives up after ${config.timeoutSeconds} s)…`);
    let callback;
    try {
      callback = await server.waitForCallback();
    } finally {
      stop();
    }
    try {
      const result = await provider.exchangeCode(callback.url, request);
      await ctx.faultPoint('login-token-response');
      const identity = await identify(deps, config, result);
      const account = await deps.store().saveLogin(identity, result.grant, ctx.now());
      await callback.respond({
        ok: true,
        title: 'Signed in',
        message: `Signed in as ${displayName(account)} — you can close this tab.`,
      });
      return account;
    } catch (e) {
      await callback
        .respond({ ok: false, title: 'Sign-in failed', message: e instanceof XtalkError ? e.message : 'xtalk could not finish the sign-in.' })
        .catch(() => {});
      throw e;
    }
  } finally {
    await server.close();
  }
}

/** Who signed in: the validated ID token's claims, completed from userinfo when it lacks a name or email. */
async function identify(deps: LoginDeps, config: ClientConfig, result: TokenResult): Promise<SessionIdentity> {
  const idClaims = result.idClaims;
  const sub = idClaims?.sub;
  if (typeof sub !== 'string' || !sub) {
    throw new ProviderError('The provider returned no ID token with a subject (sub).', {
      hint: 'Make sure the client may use the `openid` scope.',
    });
  }
  let claims: Record<string, unknown> = { ...idClaims };
  if ((claims.preferred_username === undefined || claims.email === undefined) && deps.provider.hasUserinfo) {
    // A userinfo answer for another subject is rejected here, not merged.
    const info = await deps.provider.userinfo(result.grant.accessToken, sub);
    claims = { ...info, ...claims };
  }
  return {
    issuer: deps.provider.issuer,
    sub,
    username: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
    email: typeof claims.email === 'string' ? claims.email : null,
    claims,
    clientId: config.clientId,
  };
}
