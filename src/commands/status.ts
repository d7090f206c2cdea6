import type { Command } from 'commander';
import { displayName, toAccountJson } from '../auth/account-view.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, openCommandRun, type CommonOptions } from './command-env.js';
import type { Context } from '../core/context.js';
import { ExitCode } from '../errors.js';
import { formatRelative } from '../output/time.js';

export interface StatusOptions extends CommonOptions {
  json?: boolean;
}

export function registerStatus(program: Command, ctx: Context): void {
  const cmd = program.command('status').description('List every stored account; the current one is marked with *.');
  addCommonOptions(cmd, { json: true });
  cmd.addHelpText(
    'after',
    `
Examples:
  $ xtalk status
  $ xtalk status --json | jq -r '.[] | select(.current) | .username'`,
  );
  cmd.action(async (opts: StatusOptions) => runStatus(ctx, opts));
}

export async function runStatus(ctx: Context, opts: StatusOptions): Promise<number> {
  const run = openCommandRun(ctx, opts);
  try {
    const store = run.store();
    const backend = store.credentialStore();
    // --account narrows the list to that account (and fails like every command when it is unknown).
    const accounts = opts.account ? [selectAccount(store, opts.account)] : store.listAccounts();
    const views = accounts.map((a) => toAccountJson(a, store.latestAccessTokenExpiry(a.id), backend));
    if (opts.json) {
      run.ui.json(views);
      return ExitCode.Ok;
    }
    if (views.length === 0) {
      run.ui.info('No stored accounts. Run `xtalk login` to add one.');
      return ExitCode.Ok;
    }
    const now = ctx.now();
    const rows = views.map((v, i) => {
      const exp = v.access_token_expires_at ? Date.parse(v.access_token_expires_at) : undefined;
      return [
        v.current ? '*' : ' ',
        displayName(v),
        v.email ?? '',
        v.sub,
        v.issuer,
        !store.hasSession(accounts[i]!.id)
          ? 'logged out'
          : exp === undefined
            ? 'no token'
            : exp > now
              ? `expires ${formatRelative(exp, now)}`
              : `expired ${formatRelative(exp, now)}`,
      ];
    });
    const header = [' ', 'ACCOUNT', 'EMAIL', 'SUB', 'ISSUER', 'ACCESS TOKEN'];
    run.ui.data(formatTable([header, ...rows]));
    run.ui.info(`Credential store: ${backend ?? 'none yet'}; database ${run.config().paths.dbPath}`);
    return ExitCode.Ok;
  } finally {
    run.close();
  }
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
