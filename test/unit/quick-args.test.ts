import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { parseQuickArgs } from '../../src/quick/parse-args.js';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';

/** The options of a quick `xtalk token` line, or undefined when it is not one. */
const tokenOpts = (argv: string[]) => {
  const quick = parseQuickArgs(argv);
  return quick?.command === 'token' ? quick.opts : undefined;
};

describe('the quick path of `xtalk token`', () => {
  it('takes the common forms', () => {
    expect(tokenOpts(['token'])).toEqual({ format: 'raw' });
    expect(tokenOpts(['token', '--json', '--debug'])).toEqual({ json: true, debug: true, format: 'raw' });
    expect(tokenOpts(['token', '--min-ttl', '300', '--account', 'alice'])).toEqual({ minTtl: '300', account: 'alice', format: 'raw' });
    expect(tokenOpts(['token', '--min-ttl=300', '--account=a@b.c'])).toEqual({ minTtl: '300', account: 'a@b.c', format: 'raw' });
    expect(tokenOpts(['token', '--format', 'header'])).toEqual({ format: 'header' });
  });

  it('leaves everything else to commander', () => {
    for (const argv of [
      [],
      ['whoami'],
      ['token', '--help'],
      ['token', '-h'],
      ['token', '--min-ttl'],
      ['token', '--account', '--json'],
      ['token', '--json=yes'],
      ['token', 'extra'],
      ['token', '--verbose'],
      ['--debug', 'token'],
    ]) {
      expect(tokenOpts(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('the quick path of `xtalk whoami`', () => {
  it('takes the common forms', () => {
    expect(parseQuickArgs(['whoami'])).toEqual({ command: 'whoami', opts: {} });
    expect(parseQuickArgs(['whoami', '--json'])).toEqual({ command: 'whoami', opts: { json: true } });
    expect(parseQuickArgs(['whoami', '--account', 'alice', '--verify', '--debug'])).toEqual({
      command: 'whoami',
      opts: { account: 'alice', verify: true, debug: true },
    });
    expect(parseQuickArgs(['whoami', '--account=a@b.c'])).toEqual({ command: 'whoami', opts: { account: 'a@b.c' } });
    expect(parseQuickArgs(['token', '--json'])).toEqual({ command: 'token', opts: { json: true, format: 'raw' } });
  });

  it('leaves everything else to commander', () => {
    for (const argv of [
      ['whoami', '--help'],
      ['whoami', '-h'],
      ['whoami', '--no-color'],
      ['whoami', 'extra'],
      ['whoami', '--json=1'],
      ['whoami', '--account'],
      ['whoami', '--account', '--json'],
      ['status'],
      ['--json', 'whoami'],
    ]) {
      expect(parseQuickArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

/**
 * How a command line fares: `same` (both parsers take it, with the same options), `refused` (neither
 * runs the command: commander prints help or a usage error; the quick parser hands it over), or
 * `handed` (the quick parser hands it over and commander takes it). `handed` is for lines whose
 * reading is commander's call: a value that looks like an option, and `--`, which scripts use to
 * go through commander on purpose.
 */
const CASES: ReadonlyArray<[fate: 'same' | 'refused' | 'handed', argv: string[]]> = [
  ['same', ['token']],
  ['same', ['token', '--json']],
  ['same', ['token', '--debug']],
  ['same', ['token', '--min-ttl', '300']],
  ['same', ['token', '--min-ttl=300']],
  ['same', ['token', '--min-ttl=']],
  ['same', ['token', '--format', 'header']],
  ['same', ['token', '--format=json']],
  ['same', ['token', '--format', 'bogus']], // refused by runToken, alike for both
  ['same', ['token', '--account', 'alice']],
  ['same', ['token', '--account=a@b.c']],
  ['same', ['token', '--account=-dash']],
  ['same', ['token', '--account', '']],
  ['same', ['token', '--account', '-']],
  ['same', ['token', '--json', '--debug', '--min-ttl', '300', '--account', 'alice', '--format', 'raw']],
  ['same', ['token', '--account', 'a', '--account', 'b']],
  ['same', ['token', '--json', '--json']],
  ['same', ['whoami']],
  ['same', ['whoami', '--verify']],
  ['same', ['whoami', '--json', '--debug']],
  ['same', ['whoami', '--verify', '--json', '--debug', '--account', 'alice']],
  ['same', ['whoami', '--account=a@b.c']],
  ['same', ['refresh']],
  ['same', ['refresh', '--json']],
  ['same', ['refresh', '--json', '--debug', '--account', 'alice']],
  ['same', ['refresh', '--account=a@b.c']],
  ['refused', ['token', '--help']],
  ['refused', ['token', '-h']],
  ['refused', ['token', '--min-ttl']],
  ['refused', ['token', '--json=yes']],
  ['refused', ['token', '--debug=1']],
  ['refused', ['token', 'extra']],
  ['refused', ['token', '--verbose']],
  ['refused', ['token', '-x']],
  ['refused', ['token', '--mi', '3']],
  ['refused', ['token', '--JSON']],
  ['refused', ['token', '--verify']],
  ['refused', ['token', '--', 'extra']],
  ['refused', ['whoami', '--help']],
  ['refused', ['whoami', '--min-ttl', '5']],
  ['refused', ['whoami', '--no-color']],
  ['refused', ['whoami', '--json=1']],
  ['refused', ['whoami', '--account']],
  ['refused', ['whoami', 'extra']],
  ['refused', ['refresh', '--help']],
  ['refused', ['refresh', '--min-ttl', '5']],
  ['refused', ['refresh', '--verify']],
  ['refused', ['refresh', '--no-color']],
  ['refused', ['refresh', '--json=1']],
  ['refused', ['refresh', '--account']],
  ['refused', ['refresh', 'extra']],
  ['handed', ['token', '--account', '--json']],
  ['handed', ['token', '--min-ttl', '-5']],
  ['handed', ['token', '--format', '-x']],
  ['handed', ['token', '--']],
  ['handed', ['token', '--json', '--']],
  ['handed', ['whoami', '--account', '-x']],
  ['handed', ['whoami', '--']],
  ['handed', ['refresh', '--account', '-x']],
  ['handed', ['refresh', '--']],
];

describe('commander and the quick parser, on the same command lines', () => {
  const ctx = createTestContext();
  afterAll(() => rmSync(ctx.home, { recursive: true, force: true }));

  /** The options the command's action receives from the real program, or undefined when it does not run. */
  async function throughCommander(argv: string[]): Promise<Record<string, unknown> | undefined> {
    const program = buildProgram(ctx);
    let received: Record<string, unknown> | undefined;
    for (const cmd of program.commands) {
      cmd.action(async (opts: Record<string, unknown>) => {
        received = { ...opts };
        return 0;
      });
    }
    try {
      await program.parseAsync(argv, { from: 'user' });
    } catch {
      return undefined;
    }
    return received;
  }

  it.each(CASES)('%s: %j', async (fate, argv) => {
    const commander = await throughCommander(argv);
    const quick = parseQuickArgs(argv);
    if (fate === 'same') {
      expect(commander).toBeDefined();
      expect(quick).toEqual({ command: argv[0], opts: commander });
    } else if (fate === 'refused') {
      expect(commander).toBeUndefined();
      expect(quick).toBeUndefined();
    } else {
      expect(commander).toBeDefined();
      expect(quick).toBeUndefined();
    }
  });

  it.each(CASES.filter(([fate, argv]) => fate === 'refused' && !argv.includes('--help') && !argv.includes('-h')))(
    "%s %j: one ✗ line, a hint naming the command's help, exit 2, nothing on stdout",
    async (_fate, argv) => {
      // The quick parser hands these lines over (above), so the quick door refuses them with these words.
      expect(parseQuickArgs(argv)).toBeUndefined();
      const out = createTestContext();
      expect(await run(argv, out)).toBe(2);
      expect(out.stdout.text).toBe('');
      expect(out.stderr.text).toMatch(
        new RegExp(`^✗ [^\\n]+\\n  hint: (Did you mean [^ ]+\\? )?Run \`xtalk ${argv[0]} --help\` for usage\\.\\n$`),
      );
      rmSync(out.home, { recursive: true, force: true });
    },
  );

  it('covers every option of both tables, with a value inline and apart', () => {
    const lines = CASES.filter(([fate]) => fate === 'same').map(([, argv]) => argv.join(' '));
    for (const flag of ['--min-ttl', '--format', '--account']) {
      expect(
        lines.some((l) => l.includes(`${flag}=`)),
        flag,
      ).toBe(true);
      expect(
        lines.some((l) => l.includes(`${flag} `)),
        flag,
      ).toBe(true);
    }
    for (const flag of ['--json', '--debug', '--verify'])
      expect(
        lines.some((l) => l.includes(flag)),
        flag,
      ).toBe(true);
  });
});
