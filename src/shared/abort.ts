import { CancelledError } from '../errors.js';

/**
 * One signal from several, with an optional time limit of its own: aborted as soon as any of them
 * is, or `timeoutMs` passes. On Node 20 `AbortSignal.any([s, AbortSignal.timeout(ms)])` may never
 * fire: it holds its sources weakly and a timeout signal nobody else holds is collected with its
 * timer (a hanging provider request then hangs for good). Here the timer holds the controller and
 * the result holds its sources. The timer never keeps the process alive.
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[], timeoutMs?: number): AbortSignal {
  const controller = new AbortController();
  const sources = signals.filter((s): s is AbortSignal => s !== undefined);
  const abort = (reason: unknown) => {
    if (timer) clearTimeout(timer);
    for (const s of sources) s.removeEventListener('abort', onAbort);
    controller.abort(reason);
  };
  function onAbort(this: AbortSignal) {
    abort(this.reason);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  for (const s of sources) {
    if (s.aborted) {
      abort(s.reason);
      return controller.signal;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), timeoutMs);
    timer.unref?.();
  }
  Object.defineProperty(controller.signal, KEEP, { value: sources });
  return controller.signal;
}

const KEEP = Symbol('sources');

/**
 * `attempt` (a turn at a lock, queued behind other callers of this process), given up with
 * CancelledError when `signal` aborts before `started()` says the turn began; once it has begun,
 * its outcome is awaited whatever the signal does (work under the lock finishes or fails on its own).
 * The turn given up still comes: its work must see the signal aborted and do nothing.
 */
export function abortWhileQueued<T>(attempt: Promise<T>, signal: AbortSignal | undefined, started: () => boolean): Promise<T> {
  if (!signal) return attempt;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      if (started()) return;
      attempt.catch(() => {});
      reject(new CancelledError('CANCELLED', 'Cancelled.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    attempt.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) onAbort();
  });
}
