import type { Context } from '../../core/context.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ConfigError, RevocationFailedError, SessionExpiredError, XtalkError, type FactsOf } from '../../errors.js';
import { displayName } from '../account-view.js';
import type { Run } from '../run.js';
import type { AccountRecord } from '../../core/session-records.js';
import type { Accounts, DataKeyStorage, OpenIdProvider, SessionTokens } from '../../core/ports.js';

/** The part of a run a logout uses; of the store, only the parts it calls. */
export type LogoutDeps = Pick<Run<Pick<Context, 'now' | 'faultPoint'>>, 'ctx' | 'ui' | 'config' | 'provider'> & {
  store(): Accounts & SessionTokens & DataKeyStorage;
  /** How the 503 retry waits; tests shorten it. */
  sleep?: (ms: number) => Promise<void>;
};

export interface LogoutInput {
  account: AccountRecord;
  /** Delete the tokens locally even when they cannot be revoked. */
  force: boolean;
  /** Keep the account's profile (the `user` row). */
  keepProfile?: boolean;
  /** What the user asked for (`--all`, the browser step), so that a failure's hint repeats it. */
  asked?: Pick<FactsOf<'REVOCATION_FAILED'>, 'browser' | 'all'>;
  /**
   * Ends the provider's browser session (RP-Initiated Logout), when the user asked for that step;
   * true once the provider confirmed it. A provider without a revocation endpoint gets it in place of
   * revocation: the tokens are deleted here only after its confirmation (or with `force`).
   */
  endSession?: () => Promise<boolean>;
}

export interface LogoutResult {
  account: AccountRecord;
  revoked: number;
  /** Tokens that could not be revoked (only with `force`, which deletes them anyway). */
  failures: string[];
  /** The provider has no revocation endpoint: its session was ended instead, then these many tokens deleted here. */
  deletedAfterSessionEnd: number;
}

interface HeldToken {
  label: string;
  value: string;
  hint: 'refresh_token' | 'access_token';
}

/**
 * Logs one account out: revokes its refresh token, then every unexpired access token, at the
 * provider (RFC 7009); only when all of them are revoked — or with `force` — forgets them locally
 * in one transaction, together with the account's profile (the `user` row: name, email, claims),
 * so the next person at a shared machine does not see who used it; `keepProfile` keeps the row.
 * Throws RevocationFailedError (exit 5) with nothing deleted when a revocation fails.
 */
export async function logoutAccount(deps: LogoutDeps, opts: LogoutInput): Promise<LogoutResult> {
  const { ctx, ui } = deps;
  const { account } = opts;
  const store = deps.store();
  const { tokens, unreadable } = await heldTokens(deps, account);
  const failures: string[] = [];
  const asked = opts.asked ?? {};
  if (unreadable > 0 && !opts.force) {
    throw new RevocationFailedError(
      'REVOCATION_FAILED',
      `${unreadable} stored token(s) of ${displayName(account)} cannot be decrypted with the current data key (it was replaced), so they cannot be revoked; nothing was deleted.`,
      { facts: { reason: 'undecryptable', ...asked } },
    );
  }
  let deletedAfterSessionEnd = 0;
  let revoked = 0;
  if (tokens.length > 0) {
    let provider: OpenIdProvider | undefined;
    try {
      provider = await deps.provider(account, { revocation: revocationFor(deps.config(), account) });
    } catch (e) {
      // A refused endpoint is one reason for every token: said once, with the fix.
      if (e instanceof ConfigError && !opts.force) {
        throw new RevocationFailedError(
          'REVOCATION_FAILED',
          `${e.message} None of the ${tokens.length} token(s) of ${displayName(account)} was sent there or deleted.`,
          { facts: { reason: 'endpoint_refused', ...asked }, cause: e },
        );
      }
      failures.push(...tokens.map((t) => `${t.label}: ${reason(e)}`));
    }
    if (provider && !provider.revocationEndpoint) {
      const endSession = Boolean(provider.endSessionEndpoint);
      if (!opts.force && endSession && opts.endSession) {
        await endSessionInstead(opts, tokens.length);
        deletedAfterSessionEnd = tokens.length;
      } else if (!opts.force) {
        throw new RevocationFailedError(
          'REVOCATION_FAILED',
          `${account.issuer} publishes no revocation endpoint, so the ${tokens.length} token(s) of ${displayName(account)} cannot be revoked; nothing was deleted.`,
          { facts: { reason: 'no_endpoint', endSession, ...asked } },
        );
      } else failures.push(...tokens.map((t) => `${t.label}: the provider has no revocation endpoint`));
    } else if (provider) {
      for (const token of tokens) {
        try {
          await provider.revoke(token.value, token.hint, deps.sleep);
          revoked++;
          await ctx.faultPoint(`logout-revoked-${token.hint}`);
        } catch (e) {
          failures.push(`${token.label}: ${reason(e)}`);
        }
      }
    }
  }
  if (failures.length > 0 && !opts.force) {
    throw new RevocationFailedError(
      'REVOCATION_FAILED',
      `Could not revoke ${failures.length} of ${tokens.length} token(s) of ${displayName(account)} at ${account.issuer}; all tokens were kept:\n` +
        failures.map((f) => `  - ${f}`).join('\n'),
      { facts: { ...asked } },
    );
  }
  await ctx.faultPoint('logout-before-delete');
  store.deleteSession(account.id, nextCurrent(store, account), { keepProfile: opts.keepProfile });
  if (failures.length > 0)
    ui.warn(`Deleted ${failures.length} token(s) of ${displayName(account)} locally without revoking them (--force).`);
  if (deletedAfterSessionEnd > 0) {
    ui.warn(
      `${account.issuer} publishes no revocation endpoint, so the ${deletedAfterSessionEnd} token(s) of ${displayName(account)} were deleted here without being revoked. ` +
        'Ending its session ends them at many providers (not always those issued for offline access), but xtalk cannot check that this one did.',
    );
  }
  if (unreadable > 0) {
    ui.warn(
      `Deleted ${unreadable} token(s) of ${displayName(account)} that could not be decrypted (their data key was replaced); they could not be revoked.`,
    );
  }
  if (!store.listAccounts().some((a) => store.hasSession(a.id))) await store.deleteDataKey();
  return { account, revoked, failures, deletedAfterSessionEnd };
}

/**
 * A provider without RFC 7009 whose session the user asked to end: its confirmed sign-out is the
 * most this logout can do at the provider, so the tokens stay here until the provider confirmed it.
 */
async function endSessionInstead(opts: LogoutInput, count: number): Promise<void> {
  const { account } = opts;
  const facts = { reason: 'session_not_ended' as const, endSession: true, ...opts.asked };
  let ended: boolean;
  try {
    ended = await opts.endSession!();
  } catch (e) {
    if (!(e instanceof XtalkError) || e.code === 'CANCELLED') throw e;
    throw new RevocationFailedError(
      'REVOCATION_FAILED',
      `${e.message} ${account.issuer} publishes no revocation endpoint and did not confirm the sign-out, so the ${count} token(s) of ${displayName(account)} were kept.`,
      { facts, cause: e },
    );
  }
  if (!ended) {
    throw new RevocationFailedError(
      'REVOCATION_FAILED',
      `${account.issuer} did not confirm the sign-out and publishes no revocation endpoint, so the ${count} token(s) of ${displayName(account)} were kept.`,
      { facts },
    );
  }
}

/**
 * Where the account's tokens may be revoked, when discovery names no endpoint: the one decided at
 * login and stored with the account. An account without one (none was known at login, or it was
 * stored by an xtalk before the column existed) may use the configured endpoint of the same client —
 * like any endpoint discovery does not name, only on the issuer's origin (checked by the client).
 */
function revocationFor(config: ResolvedConfig, account: AccountRecord): { endpoint: string; from: string } | undefined {
  if (account.revocationEndpoint) return { endpoint: account.revocationEndpoint, from: 'the account, stored at login' };
  const sameClient = config.issuer === account.issuer && config.clientId === (account.clientId ?? config.clientId);
  if (!sameClient || !config.revocationEndpoint) return undefined;
  return { endpoint: config.revocationEndpoint, from: config.origins.revocationEndpoint ?? 'the configuration' };
}

/**
 * The refresh token first (at most providers its revocation also ends its access tokens), then the
 * access tokens; `unreadable` counts rows the current data key cannot decrypt.
 */
async function heldTokens(deps: LogoutDeps, account: AccountRecord): Promise<{ tokens: HeldToken[]; unreadable: number }> {
  try {
    const { refresh, access, unreadable } = await deps.store().sessionTokens(account.id, deps.ctx.now());
    const tokens = [
      ...(refresh ? [{ label: 'refresh token', value: refresh.refreshToken, hint: 'refresh_token' as const }] : []),
      ...access.map((a, i) => ({
        label: `access token ${i + 1} (expires ${new Date(a.expiresAt).toISOString()})`,
        value: a.accessToken,
        hint: 'access_token' as const,
      })),
    ];
    return { tokens, unreadable };
  } catch (e) {
    // Tokens whose data key is gone can neither be used nor revoked: forgetting them is all that is left.
    if (!(e instanceof SessionExpiredError)) throw e;
    deps.ui.warn(`The tokens of ${displayName(account)} can no longer be read (${e.message}); deleting them locally.`);
    return { tokens: [], unreadable: 0 };
  }
}

/** Logging out the current account leaves exactly one other signed-in account current, else none. */
function nextCurrent(store: Accounts, account: AccountRecord): number | null {
  const others = store.listAccounts().filter((a) => a.id !== account.id && store.hasSession(a.id));
  return others.length === 1 ? others[0]!.id : null;
}

function reason(e: unknown): string {
  return e instanceof XtalkError ? e.message : e instanceof Error ? e.message : String(e);
}
