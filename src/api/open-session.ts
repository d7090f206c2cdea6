import { openRun, type Run } from '../auth/run.js';
import { selectAccount } from '../auth/select-account.js';
import { dotenvNotice } from '../config/dotenv-notice.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { resolveConfigRemembered } from '../config/remembered-config.js';
import type { Context } from '../core/context.js';
import { leaseConnection, type ConnectionLease } from '../store/index.js';
import { classifyEscapedError } from '../store/db/store-errors.js';
import { CancelledError, StoreError } from '../errors.js';
import { createSystemServices, type SystemServices } from '../system-services.js';
import { forProgram } from './hints.js';
import type { SessionOptions } from './options.js';
import type { AccountRecord } from '../core/session-records.js';

/** Store failures of a folder that cannot be written, where reading still works. */
const UNWRITABLE = new Set(['read_only', 'full', 'cannot_open', 'permissions']);

/** The Node API's machine: the CLI's services, without a terminal or browser. */
export type ApiMachine = SystemServices & Pick<Context, 'env' | 'cwd' | 'platform'> & Partial<Pick<Context, 'signal'>>;

/** One call's run (src/auth/run.ts), built as the CLI builds its own; only debug lines for output, and they go nowhere. */
export type ApiRun = Run<ApiMachine, { debug(line: string): void }>;

/** One call's view of the machine: the CLI's configuration, store and refresh, without a terminal. */
export interface Session {
  run: ApiRun;
  account: AccountRecord;
}

/**
 * Runs `fn` with the store, selecting the account as the CLI does. The store's SQLite connection is
 * lent by the process's pool for that file (see leaseConnection), not opened per call: a thousand
 * calls at once need a few file descriptors, not three each. Everything else is the call's own —
 * configuration, data key, account — so a login or logout by another process in between is seen.
 * Whatever escaped the store (a SqliteError, EMFILE) is thrown as the typed error it stands for.
 */
export async function withStore<T>(
  opts: SessionOptions & { signal?: AbortSignal | undefined },
  fn: (run: ApiRun) => Promise<T> | T,
): Promise<T> {
  let connection: ConnectionLease | undefined;
  try {
    if (opts.signal?.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
    const env = opts.env ?? process.env;
    const services = createSystemServices(env);
    const machine: ApiMachine = {
      ...services,
      env,
      cwd: opts.cwd ?? process.cwd(),
      platform: process.platform,
      signal: opts.signal,
      openStore: (request) => services.openStore({ ...request, connection }),
    };
    // A library must not write to the host program's stderr: the keychain fallback becomes a process warning.
    const warn = (message: string) => process.emitWarning(message, { type: 'XtalkWarning', code: 'XTALK_CREDENTIAL_STORE_FALLBACK' });
    const config = resolveConfigRemembered({ env, cwd: machine.cwd, platform: machine.platform });
    const run = openRun(machine, { ui: { debug: () => {} }, warn, config });
    warnDotenvNotUsed(config);
    connection = await leaseConnection(config.paths.dbPath).catch((e: unknown) => {
      // A read-only folder or a full disk refuses a read-write connection; reads work without one.
      if (e instanceof StoreError && UNWRITABLE.has(String(e.facts.reason))) return undefined;
      throw e;
    });
    run.store();
    try {
      return await fn(run);
    } finally {
      // A lent connection goes back to the pool (which closes it once nobody uses it); a store of its own is closed.
      if (!connection) run.close();
    }
  } catch (e) {
    // The CLI's error edge does the same: what escaped the store is still a typed error for programs,
    // with the Node API's hint (src/api/hints.ts).
    throw forProgram(classifyEscapedError(e));
  } finally {
    connection?.release();
  }
}

const warnedDotenv = new Set<string>();

/**
 * A `.env` whose xtalk names are not used (an `XTALK_…` name, or one of the four under a value from
 * the environment or config.json) becomes one process warning per text, as the CLI's notice: a
 * program should not believe its `.env` chose the API URL. A `.env` that is only used, or names
 * nothing of xtalk's, says nothing (the program chose its folder).
 */
function warnDotenvNotUsed(config: ResolvedConfig): void {
  if (!config.dotenv?.unused.some((u) => u.why !== 'unknown')) return;
  const text = dotenvNotice(config);
  if (!text || warnedDotenv.has(text)) return;
  warnedDotenv.add(text);
  process.emitWarning(text, { type: 'XtalkWarning', code: 'XTALK_DOTENV_NOT_USED' });
}

export function withSession<T>(
  opts: SessionOptions & { signal?: AbortSignal | undefined },
  fn: (session: Session) => Promise<T> | T,
): Promise<T> {
  return withStore(opts, (run) => fn({ run, account: selectAccount(run.store(), opts.account) }));
}
