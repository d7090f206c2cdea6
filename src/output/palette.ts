/**
 * The five styles xtalk's human output uses, as ANSI SGR sequences. Not chalk: its import probes
 * both TTYs through node:tty (loading node:net and the stream machinery) on every start, `xtalk
 * token` included, and xtalk decides about color itself (CLI-CONTRACT: stderr is a TTY, NO_COLOR unset).
 */
export interface Palette {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\x1b[${open}m${text}\x1b[${close}m`;

export const COLORS: Palette = { green: sgr(32, 39), yellow: sgr(33, 39), red: sgr(31, 39), cyan: sgr(36, 39), dim: sgr(2, 22) };

const same = (text: string): string => text;
export const PLAIN: Palette = { green: same, yellow: same, red: same, cyan: same, dim: same };
