/**
 * A refused command line, through the real doors: bin/xtalk.cjs tries the quick path first for
 * token and whoami (dist/quick.cjs), which hands what it does not take to the full program; every
 * other command goes to the full program directly. Each says one ✗ line and a hint naming the
 * command's help (and the closest flag or command), exits 2, and leaves stdout empty, --json or not.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { createTestContext } from '../fakes/context.js';
import { runCli } from './cli.js';

const home = createTestContext().home;
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = { XTALK_HOME: home, XTALK_CREDENTIAL_STORE: 'file', NO_COLOR: '1' };

const CASES: [argv: string[], stderr: string][] = [
  [['token', '--bogus'], "✗ unknown option '--bogus'\n  hint: Run `xtalk token --help` for usage.\n"],
  [['token', '--jsn'], "✗ unknown option '--jsn'\n  hint: Did you mean --json? Run `xtalk token --help` for usage.\n"],
  [['token', '--json', '--bogus'], "✗ unknown option '--bogus'\n  hint: Run `xtalk token --help` for usage.\n"],
  [['token', '--min-ttl'], "✗ option '--min-ttl <seconds>' argument missing\n  hint: Run `xtalk token --help` for usage.\n"],
  [
    ['whoami', 'extra'],
    "✗ too many arguments for 'whoami'. Expected 0 arguments but got 1.\n  hint: Run `xtalk whoami --help` for usage.\n",
  ],
  [['tokn'], "✗ unknown command 'tokn'\n  hint: Did you mean token? Run `xtalk --help` for usage.\n"],
  [['status', '--jsonn'], "✗ unknown option '--jsonn'\n  hint: Did you mean --json? Run `xtalk status --help` for usage.\n"],
  [['config', 'get'], "✗ missing required argument 'key'\n  hint: Run `xtalk config get --help` for usage.\n"],
  [
    ['switch', 'a', 'b'],
    "✗ too many arguments for 'switch'. Expected 1 argument but got 2.\n  hint: Run `xtalk switch --help` for usage.\n",
  ],
  [
    ['login', '--prompt', 'never'],
    "✗ option '--prompt <prompt>' argument 'never' is invalid. Allowed choices are login, select_account, consent.\n  hint: Run `xtalk login --help` for usage.\n",
  ],
  [['help', 'enviroment'], "✗ unknown help topic 'enviroment'\n  hint: Did you mean environment? Run `xtalk --help` for usage.\n"],
];

describe('commander refusals read like every expected failure', () => {
  it.each(CASES)('%j', async (argv, stderr) => {
    const door = await runCli(argv, { env });
    expect({ code: door.code, stdout: door.stdout, stderr: door.stderr }).toEqual({ code: 2, stdout: '', stderr });
    // The program in-process (as the full program runs it) says exactly the same.
    const ctx = createTestContext({ home, env });
    expect(await run(argv, ctx)).toBe(2);
    expect(ctx.stderr.text).toBe(stderr);
    expect(ctx.stdout.text).toBe('');
  });
});
