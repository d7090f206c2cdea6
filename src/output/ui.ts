import chalk, { Chalk, type ChalkInstance } from 'chalk';
import type { Io } from '../context.js';
import { redact } from './redact.js';
import { sanitize, toSafeJson } from './sanitize.js';

/** Human output on stderr, data on stdout; colors and spinners only for a TTY without NO_COLOR. */
export interface Ui {
  /** Writes data (the token, JSON) to stdout. */
  data(text: string): void;
  json(value: unknown): void;
  info(line: string): void;
  success(line: string): void;
  warn(line: string): void;
  error(line: string, hint?: string): void;
  debug(line: string): void;
  /** A spinner on a TTY, a single plain line otherwise; returns a stop function. */
  progress(line: string): () => void;
  readonly interactive: boolean;
  readonly color: ChalkInstance;
}

export interface UiOptions {
  debug?: boolean;
  /** Extra values that must never be printed, besides what `redact` finds by shape. */
  secrets?: () => Iterable<string>;
}

export function createUi(io: Io, env: Readonly<Record<string, string | undefined>>, opts: UiOptions = {}): Ui {
  const interactive = io.stderrIsTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  const c = interactive ? chalk : new Chalk({ level: 0 });
  const err = (s: string) => io.stderr.write(s + '\n');
  return {
    interactive,
    color: c,
    // Text for people may carry provider-supplied claims: control characters are escaped before
    // styling. JSON escapes them as \uXXXX, which keeps the same value.
    data: (text) => io.stdout.write(sanitize(text)),
    json: (value) => io.stdout.write(toSafeJson(value, 2) + '\n'),
    info: (line) => err(sanitize(line)),
    success: (line) => err(`${c.green('✓')} ${sanitize(line)}`),
    warn: (line) => err(`${c.yellow('!')} ${sanitize(line)}`),
    error: (line, hint) => {
      err(`${c.red('✗')} ${sanitize(line)}`);
      if (hint) err(`  ${c.dim('hint:')} ${sanitize(hint)}`);
    },
    debug: (line) => {
      if (opts.debug) err(c.dim(`[debug] ${sanitize(redact(line, opts.secrets?.() ?? []))}`));
    },
    progress: (line) => {
      if (!interactive) {
        err(line);
        return () => {};
      }
      const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
      let i = 0;
      const draw = () => io.stderr.write(`\r${c.cyan(frames[i++ % frames.length])} ${line}`);
      draw();
      const timer = setInterval(draw, 100);
      timer.unref?.();
      return () => {
        clearInterval(timer);
        io.stderr.write('\r\x1b[2K');
      };
    },
  };
}
