import { CancelledError } from '../errors.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `xtalk doctor`; `name` is stable for scripts, `fix` says what to do about a warn or fail. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: CheckResult[];
  /** False when any check failed; warnings do not count. */
  ok: boolean;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  ...(fix ? { fix } : {}),
});
export const fail = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  ...(fix ? { fix } : {}),
});

/**
 * Runs one check with its own time limit: the check gets a signal that aborts at the limit (or on
 * Ctrl-C), and a check that ignores it is reported as failed anyway. Ctrl-C cancels the whole run.
 * A check that throws is reported as failed with its message.
 */
export async function runLimited(
  name: string,
  limitMs: number,
  parent: AbortSignal,
  check: (signal: AbortSignal) => Promise<CheckResult | CheckResult[]>,
): Promise<CheckResult[]> {
  if (parent.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
  const controller = new AbortController();
  let cancel!: (e: unknown) => void;
  const cancelled = new Promise<never>((_, reject) => (cancel = reject));
  cancelled.catch(() => undefined);
  const onAbort = () => {
    controller.abort(parent.reason);
    cancel(new CancelledError('CANCELLED', 'Cancelled.'));
  };
  parent.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException('check time limit', 'TimeoutError'));
      resolve([
        fail(
          name,
          `did not finish within ${limitMs / 1000} s`,
          'Run `xtalk doctor --debug`, and check the network and the services this check uses.',
        ),
      ]);
    }, limitMs);
  });
  const running = (async () => {
    try {
      const result = await check(controller.signal);
      return Array.isArray(result) ? result : [result];
    } catch (e) {
      if (parent.aborted) throw new CancelledError('CANCELLED', 'Cancelled.');
      return [fail(name, `the check itself failed: ${e instanceof Error ? e.message : String(e)}`)];
    }
  })();
  try {
    return await Promise.race([running, timedOut, cancelled]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onAbort);
  }
}

/** What the human summary line says. */
export function summarize(checks: readonly CheckResult[]): string {
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (failed === 0 && warned === 0) return 'All checks passed.';
  const parts = [failed && `${failed} failed`, warned && `${warned} with warnings`].filter(Boolean);
  return `${parts.join(', ')} (of ${checks.length} checks).`;
}
