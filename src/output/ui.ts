import type { Io } from '../core/ports.js';
import { escapeTerminalText, toSafeJson } from '../core/terminal-text.js';
import { COLORS, PLAIN, type Palette } from './palette.js';
import { redact } from './redact.js';
import { debugFromEnv, mayAnimate, mayColor } from './terminal-env.js';

/** A piece of human output in one of the palette's styles (applied only where colors are on). */
export interface StyledText {
  style: keyof Palette;
  text: string;
}

/** Text for stdout: plain, or pieces of which some are styled. */
export type DataText = string | ReadonlyArray<string | StyledText>;

/**
 * The only writer to stdout and stderr (test/unit/terminal-doors.test.ts): whatever it writes for a
 * terminal passes src/core/terminal-text.ts first, so provider or server text cannot drive the
 * terminal; styles are applied after that, here only (src/output/palette.ts has no other importer), so
 * ours are never escaped. Human output on stderr, data on stdout; whether a stream gets colours or a
 * spinner is src/output/terminal-env.ts's call (a TTY, NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE).
 */
export interface Ui {
  /** Writes data (the token, a report, a list) to stdout, control characters escaped. */
  data(text: DataText): void;
  /** Writes a JSON document to stdout; characters a terminal acts on are `\uXXXX` inside its strings. */
  json(value: unknown): void;
  /**
   * Writes a server's answer body to stdout: to a pipe or file byte for byte, as received (so `| jq`
   * gets the server's bytes); to a terminal, JSON (`json`) pretty-printed as safe JSON, any other
   * text with control characters escaped, ending with a newline.
   */
  body(stream: ReadableStream<Uint8Array>, opts: { json: boolean }): Promise<void>;
  info(line: string): void;
  success(line: string): void;
  warn(line: string): void;
  error(line: string, hint?: string): void;
  debug(line: string): void;
  /** A spinner on a TTY, a single plain line otherwise; returns a stop function. */
  progress(line: string): () => void;
  readonly interactive: boolean;
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
  let colored: boolean | undefined;
  const isInteractive = () => (interactive ??= mayAnimate(env, io.stderrIsTTY));
  const palette = () => ((colored ??= mayColor(env, io.stderrIsTTY)) ? COLORS : PLAIN);
  const debug = opts.debug || debugFromEnv(env);
  // Every line for people passes the escaper before it is styled: the styles are ours, the text may
  // carry provider-supplied claims.
  const err = (s: string) => io.stderr.write(escapeTerminalText(s) + '\n');
  const styledErr = (styled: string) => io.stderr.write(styled + '\n');
  const out = (s: string) => (io.writeOut ? io.writeOut(s) : io.stdout.write(s));
  // stdout may be a pipe while stderr is a terminal: color only what lands on a terminal.
  const dataPalette = () => (mayColor(env, io.stdoutIsTTY === true) ? COLORS : PLAIN);
  return {
    get interactive() {
      return isInteractive();
    },
    data: (text) => {
      if (typeof text === 'string') return out(escapeTerminalText(text));
      const p = dataPalette();
      out(
        text.map((part) => (typeof part === 'string' ? escapeTerminalText(part) : p[part.style](escapeTerminalText(part.text)))).join(''),
      );
    },
    json: (value) => out(toSafeJson(value, 2) + '\n'),
    body: async (stream, { json }) => {
      if (!io.stdoutIsTTY) {
        // Loaded here: only `xtalk api` streams, and the hot path stays free of the stream machinery.
        const [{ Readable }, { pipeline }] = await Promise.all([import('node:stream'), import('node:stream/promises')]);
        await pipeline(Readable.fromWeb(stream as import('node:stream/web').ReadableStream), io.stdout, { end: false });
        return;
      }
      const text = await new Response(stream).text();
      if (json) {
        try {
          out(toSafeJson(JSON.parse(text), 2) + '\n');
          return;
        } catch {
          // Not JSON after all: shown like any other text.
        }
      }
      // A body without a final newline would run into the next line on the terminal (the ✗ line, the prompt).
      out(escapeTerminalText(text) + (text === '' || text.endsWith('\n') ? '' : '\n'));
    },
    info: (line) => err(line),
    success: (line) => styledErr(`${palette().green('✓')} ${escapeTerminalText(line)}`),
    warn: (line) => styledErr(`${palette().yellow('!')} ${escapeTerminalText(line)}`),
    error: (line, hint) => {
      styledErr(`${palette().red('✗')} ${escapeTerminalText(line)}`);
      if (hint) styledErr(`  ${palette().dim('hint:')} ${escapeTerminalText(hint)}`);
    },
    debug: (line) => {
      if (debug) styledErr(palette().dim(`[debug] ${escapeTerminalText(redact(line, opts.secrets?.() ?? []))}`));
    },
    progress: (line) => {
      const safe = escapeTerminalText(line);
      if (!isInteractive()) {
        err(line);
        return () => {};
      }
      const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
      let i = 0;
      const draw = () => io.stderr.write(`\r${COLORS.cyan(frames.charAt(i++ % frames.length))} ${safe}`);
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
