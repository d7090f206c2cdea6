import type { Io } from '../auth/ports.js';
import { COLORS, PLAIN, type Palette } from './palette.js';
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
  readonly color: Palette;
}

export interface UiOptions {
  debug?: boolean;
  /** Extra values that must never be printed, besides what `redact` finds by shape. */
  secrets?: () => Iterable<string>;
}

export function createUi(io: Io, env: Readonly<Record<string, string | undefined>>, opts: UiOptions = {}): Ui {
  // Decided when first needed: asking whether stderr is a TTY creates process.stderr, which a run
  // that only prints its data (`xtalk token`) never needs.
  let interactive: boolean | undefined;
  const isInteractive = () => (interactive ??= io.stderrIsTTY && !env.NO_COLOR && env.TERM !== 'dumb');
  const palette = () => (isInteractive() ? COLORS : PLAIN);
  const err = (s: string) => io.stderr.write(s + '\n');
  const out = (s: string) => (io.writeOut ? io.writeOut(s) : io.stdout.write(s));
  return {
    get interactive() {
      return isInteractive();
    },
    get color() {
      return palette();
    },
    // Text for people may carry provider-supplied claims: control characters are escaped before
    // styling. JSON escapes them as \uXXXX, which keeps the same value.
    data: (text) => out(sanitize(text)),
    json: (value) => out(toSafeJson(value, 2) + '\n'),
    info: (line) => err(sanitize(line)),
    success: (line) => err(`${palette().green('✓')} ${sanitize(line)}`),
    warn: (line) => err(`${palette().yellow('!')} ${sanitize(line)}`),
    error: (line, hint) => {
      err(`${palette().red('✗')} ${sanitize(line)}`);
      if (hint) err(`  ${palette().dim('hint:')} ${sanitize(hint)}`);
    },
    debug: (line) => {
      if (opts.debug) err(palette().dim(`[debug] ${sanitize(redact(line, opts.secrets?.() ?? []))}`));
    },
    progress: (line) => {
      if (!isInteractive()) {
        err(line);
        return () => {};
      }
      const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
      let i = 0;
      const draw = () => io.stderr.write(`\r${COLORS.cyan(frames.charAt(i++ % frames.length))} ${line}`);
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
