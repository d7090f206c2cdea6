/**
 * Whether human output gets colours and diagnostics: src/output/terminal-env.ts decides, ui.ts asks
 * it for each stream, the error report for --debug. The colour conventions: no-color.org,
 * force-color.org, bixense.com/clicolors.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { debugFromEnv, mayAnimate, mayColor } from '../../src/output/terminal-env.js';
import { createUi } from '../../src/output/ui.js';
import { createTestContext } from '../fakes/context.js';

const RED_CROSS = '\x1b[31m✗\x1b[39m';

describe('mayColor: the one answer to "may this stream be coloured"', () => {
  it.each([
    // [env, isTTY, expected]
    [{}, true, true],
    [{}, false, false],
    [{ TERM: 'dumb' }, true, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, true], // empty: not set (no-color.org)
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '2' }, false, true],
    [{ FORCE_COLOR: '3' }, false, true],
    [{ FORCE_COLOR: 'true' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: 'false' }, true, false],
    [{ FORCE_COLOR: '' }, false, false],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, true], // force-color.org: FORCE_COLOR wins
    [{ FORCE_COLOR: '1', TERM: 'dumb' }, true, true],
    [{ CLICOLOR_FORCE: '1' }, false, true],
    [{ CLICOLOR_FORCE: '0' }, false, false],
    [{ CLICOLOR_FORCE: '0' }, true, true],
    [{ CLICOLOR_FORCE: '1', NO_COLOR: '1' }, false, false], // NO_COLOR wins over CLICOLOR_FORCE
    [{ CLICOLOR_FORCE: '1', FORCE_COLOR: '0' }, true, false],
  ] as const)('%j on a TTY: %s → %s', (env, isTTY, expected) => {
    expect(mayColor(env, isTTY)).toBe(expected);
  });

  it('a spinner only on a terminal that can redraw, never because colour is forced', () => {
    expect(mayAnimate({}, true)).toBe(true);
    expect(mayAnimate({ FORCE_COLOR: '1' }, false)).toBe(false);
    expect(mayAnimate({ CLICOLOR_FORCE: '1' }, false)).toBe(false);
    expect(mayAnimate({ NO_COLOR: '1' }, true)).toBe(false);
    expect(mayAnimate({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(mayAnimate({ FORCE_COLOR: '1', TERM: 'dumb' }, true)).toBe(false);
  });
});

describe('the ui asks it for stderr and stdout alike', () => {
  const lines = (env: Record<string, string | undefined>, tty = false) => {
    const ctx = createTestContext({ env, stderrIsTTY: tty });
    const ui = createUi({ ...ctx.io, stdoutIsTTY: tty }, ctx.env);
    ui.error('broken', 'fix it');
    ui.data([{ style: 'green', text: '✓' }, ' data\n']);
    return { err: ctx.stderr.text, out: ctx.stdout.text };
  };

  it('FORCE_COLOR and CLICOLOR_FORCE colour pipes; NO_COLOR beats CLICOLOR_FORCE; FORCE_COLOR=0 keeps a terminal plain', () => {
    for (const env of [{ FORCE_COLOR: '1' }, { FORCE_COLOR: '3' }, { CLICOLOR_FORCE: '1' }]) {
      const { err, out } = lines(env);
      expect(err, JSON.stringify(env)).toContain(RED_CROSS);
      expect(out, JSON.stringify(env)).toBe('\x1b[32m✓\x1b[39m data\n');
    }
    for (const [env, tty] of [
      [{ CLICOLOR_FORCE: '1', NO_COLOR: '1' }, false],
      [{ FORCE_COLOR: '0' }, true],
      [{}, false],
    ] as const) {
      const { err, out } = lines(env, tty);
      expect(err, JSON.stringify(env)).toBe('✗ broken\n  hint: fix it\n');
      expect(out, JSON.stringify(env)).toBe('✓ data\n');
    }
    expect(lines({}, true).err).toContain(RED_CROSS);
  });

  it('forced colours still escape what a provider sent: only the styles are raw', () => {
    const ctx = createTestContext({ env: { FORCE_COLOR: '1' } });
    createUi(ctx.io, ctx.env).error('name \x1b[2J\x9b1m', 'x');
    expect(ctx.stderr.text).toBe(`${RED_CROSS} name \\u001b[2J\\u009b1m\n  \x1b[2mhint:\x1b[22m x\n`);
  });
});

describe('XTALK_DEBUG: the environment form of --debug', () => {
  it('is on for any value but empty or 0', () => {
    expect(debugFromEnv({ XTALK_DEBUG: '1' })).toBe(true);
    expect(debugFromEnv({ XTALK_DEBUG: 'yes' })).toBe(true);
    expect(debugFromEnv({ XTALK_DEBUG: '0' })).toBe(false);
    expect(debugFromEnv({ XTALK_DEBUG: '' })).toBe(false);
    expect(debugFromEnv({})).toBe(false);
  });

  it('prints the debug lines and the error code of a command run without --debug', async () => {
    for (const [env, on] of [
      [{ XTALK_DEBUG: '1' }, true],
      [{ XTALK_DEBUG: '0' }, false],
      [{}, false],
    ] as const) {
      const ctx = createTestContext({ env });
      expect(await run(['status'], ctx)).toBe(0);
      expect(ctx.stderr.text.includes('[debug]'), JSON.stringify(env)).toBe(on);
      const failing = createTestContext({ env });
      expect(await run(['token'], failing)).toBe(4);
      expect(failing.stderr.text.includes('code: LOGIN_REQUIRED'), JSON.stringify(env)).toBe(on);
    }
  });
});
