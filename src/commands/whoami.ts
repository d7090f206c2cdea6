import type { Command } from 'commander';
import { displayName, toAccountJson, type AccountJson } from '../auth/account-view.js';
import { getFreshToken } from '../auth/refresh/fresh-token.js';
import { selectAccount } from '../auth/select-account.js';
import { openCommandRun } from './command-env.js';
import { addOptions, COMMON_OPTIONS, type OptionsOf, type OptionTable } from './options.js';
import type { Context } from '../core/context.js';
import { ExitCode } from '../errors.js';
import { formatRelative } from '../output/time.js';

/** The options of `xtalk whoami`, for commander and the quick path alike (see ./options.ts). */
export const WHOAMI_OPTIONS = {
  verify: { flag: '--verify', description: 'also ask the provider (userinfo) whether the session is still accepted' },
  ...COMMON_OPTIONS,
} as const satisfies OptionTable;

export type WhoamiOptions = OptionsOf<typeof WHOAMI_OPTIONS>;

export function registerWhoami(program: Command, ctx: Context): void {
  const cmd = addOptions(
    program.command('whoami').description('Show the signed-in account (read from the local store; no network unless --verify).'),
    WHOAMI_OPTIONS,
  );
  cmd.addHelpText(
    'after',
    `
Examples:
  $ xtalk whoami
  $ xtalk whoami --json | jq -r .sub
  $ xtalk whoami --account alice@example.com
  $ xtalk whoami --verify || xtalk login`,
  );
  cmd.action(async (opts: WhoamiOptions) => runWhoami(ctx, opts));
}

export async function runWhoami(ctx: Context, opts: WhoamiOptions): Promise<number> {
  const run = openCommandRun(ctx, opts);
  try {
    const store = run.store();
    const account = selectAccount(store, opts.account);
    if (opts.verify) {
      const token = await getFreshToken(run, { account });
      // openid-client rejects a userinfo answer about another subject.
      await (await run.provider(account)).userinfo(token.accessToken, account.sub);
      run.ui.success(`The provider accepts the session of ${displayName(account)}.`);
    }
    const view = toAccountJson(account, store.latestAccessTokenExpiry(account.id), store.credentialStore());
    if (opts.json) run.ui.json(view);
    else run.ui.data(formatAccount(view, ctx.now()));
    return ExitCode.Ok;
  } finally {
    run.close();
  }
}

const HIDDEN_CLAIMS = new Set([
  'sub',
  'preferred_username',
  'email',
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'auth_time',
  'sid',
  'jti',
  'acr',
  'amr',
]);

function formatAccount(a: AccountJson, now: number): string {
  const lines = [`${displayName(a)}${a.email && a.username ? ` <${a.email}>` : ''}`];
  const row = (k: string, v: string) => lines.push(`  ${(k + ':').padEnd(18)} ${v}`);
  row('issuer', a.issuer);
  row('sub', a.sub);
  for (const [k, v] of Object.entries(a.claims)) {
    if (!HIDDEN_CLAIMS.has(k)) row(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  const exp = a.access_token_expires_at;
  row('access token', exp ? `${Date.parse(exp) > now ? 'expires' : 'expired'} ${formatRelative(Date.parse(exp), now)} (${exp})` : 'none');
  row('credential store', a.credential_store ?? 'none');
  return lines.join('\n') + '\n';
}
