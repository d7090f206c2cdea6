/**
 * What the environment says about human output, decided here once for every door (each command,
 * the quick path): whether a stream may be coloured, and whether diagnostics are on. Read from the
 * process environment only, never from a `.env` (src/core/settings-sources.ts gives a `.env` the
 * four X-Talk settings and nothing else), so a folder cannot turn on `--debug` output.
 */

type Env = Readonly<Record<string, string | undefined>>;

const given = (value: string | undefined): value is string => value !== undefined && value !== '';

/**
 * Whether text for this stream may carry colours. The conventions, strongest first:
 * FORCE_COLOR (force-color.org: any non-empty value forces colour, even over NO_COLOR; `0` or `false`
 * turns it off, as Node and chalk read it), NO_COLOR (no-color.org: any non-empty value), CLICOLOR_FORCE
 * (bixense.com/clicolors: non-zero forces colour when the stream is not a terminal; NO_COLOR still
 * wins over it), then a terminal that is not TERM=dumb.
 */
export function mayColor(env: Env, isTTY: boolean): boolean {
  if (given(env.FORCE_COLOR)) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (given(env.NO_COLOR)) return false;
  if (given(env.CLICOLOR_FORCE) && env.CLICOLOR_FORCE !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

/**
 * Whether a spinner may redraw its line: only on a terminal that can (not TERM=dumb) and where
 * colour is not turned off. Forcing colour into a pipe never brings a spinner there.
 */
export function mayAnimate(env: Env, isTTY: boolean): boolean {
  return isTTY && env.TERM !== 'dumb' && mayColor(env, true);
}

/** `XTALK_DEBUG=1` is `--debug` for every command: any value but empty or `0`. */
export function debugFromEnv(env: Env): boolean {
  return given(env.XTALK_DEBUG) && env.XTALK_DEBUG !== '0';
}
