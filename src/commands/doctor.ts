import type { Command } from 'commander';
import type { Context } from '../core/context.js';
import type { DoctorReport } from '../doctor/check.js';
import type { DoctorDeps } from '../doctor/run-doctor.js';
import { dotenvNotice } from '../config/dotenv-notice.js';
import { openRun, type Run } from '../auth/run.js';
import { ExitCode, isXtalkError } from '../errors.js';
import { createUi } from '../output/ui.js';

export interface DoctorOptions {
  json?: boolean;
  debug?: boolean;
  issuer?: string;
  clientId?: string;
  port?: string;
  account?: string;
}

export function registerDoctor(program: Command, ctx: Context): void {
  const cmd = program
    .command('doctor')
    .description(
      'Check the configuration, the provider, the keychain, the browser and the network; each line ok, warning or failure with a fix.',
    )
    .option('--issuer <url>', 'OpenID provider (issuer) URL to check')
    .option('--client-id <id>', 'OAuth client id')
    .option('--port <port>', 'loopback port to check (default 0: any free port)')
    .option('--account <username|email|sub>', "check this stored account's session instead of the current one")
    .option('--json', 'print { "checks": [...], "ok": bool } on stdout')
    .option('--debug', 'print diagnostics on stderr (secrets redacted)');
  cmd.addHelpText(
    'after',
    `
Exit code 1 when any check fails; warnings alone exit 0.

Examples:
  $ xtalk doctor
  $ xtalk doctor --json | jq -r '.checks[] | select(.status != "ok") | .name'
  $ HTTPS_PROXY=http://proxy.example:3128 xtalk doctor
  $ xtalk doctor --account alice@example.com     # also checks that account's stored session`,
  );
  cmd.action((opts: DoctorOptions) => runDoctor(ctx, opts));
}

/** Runs every check and prints them; exit code 1 when any check fails (warnings alone exit 0). */
export async function runDoctor(ctx: Context, opts: DoctorOptions, deps: DoctorDeps = {}): Promise<number> {
  const report = await printDoctorReport(ctx, opts, deps);
  return report.ok ? ExitCode.Ok : ExitCode.Error;
}

/** Runs every check and prints them: one line each on stdout (they are the answer), a summary on stderr. */
export async function printDoctorReport(ctx: Context, opts: DoctorOptions, deps: DoctorDeps = {}): Promise<DoctorReport> {
  const ui = createUi(ctx.io, ctx.env, { debug: opts.debug });
  // The store is opened for the session check only, which reads no secret: it has nothing to warn about.
  const flags = { issuer: opts.issuer, clientId: opts.clientId, port: opts.port };
  const run = openRun(ctx, { ui, flags, warn: () => {}, keychain: deps.keychain, keychainTimeoutMs: deps.keychainTimeoutMs });
  try {
    return await printChecks(run, opts, deps);
  } finally {
    run.close();
  }
}

async function printChecks(run: Run, opts: DoctorOptions, deps: DoctorDeps): Promise<DoctorReport> {
  const { ctx, ui } = run;
  const notice = dotenvNoticeFor(run);
  if (notice) ui.info(notice);
  // Loaded here so the other commands never pay for the checks.
  const { runDoctorChecks, formatReport, summarize } = await import('../doctor/run-doctor.js');
  const started = ctx.now();
  const report = await runDoctorChecks(run, { ...deps, account: opts.account });
  ui.debug(`doctor: ${report.checks.length} checks in ${ctx.now() - started} ms`);
  if (opts.json) {
    ui.json(report);
  } else {
    ui.data(formatReport(report));
  }
  const line = summarize(report.checks);
  if (report.ok) ui.info(line);
  else ui.error(line, 'Fix the lines marked ✗ (see "fix:"), then run `xtalk doctor` again.');
  return report;
}

/** The `.env` line for doctor; a configuration that cannot be read is the config check's to report. */
function dotenvNoticeFor(run: Pick<Run, 'config'>): string | undefined {
  try {
    return dotenvNotice(run.config());
  } catch (e) {
    if (isXtalkError(e)) return undefined;
    throw e;
  }
}
