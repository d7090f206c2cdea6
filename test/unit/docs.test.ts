import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, type XtalkProgram } from '../../src/cli/program.js';
import { createTestContext } from '../fakes/context.js';
import { UsageError } from '../../src/errors.js';
import { brokenLinks, headingAnchors, type MarkdownFile, shellCommands, xtalkCommandLines } from '../helpers/markdown-check.js';

// README.md and docs/*.md: every relative link resolves, and every `xtalk …` line they show parses
// with the program's own commander definition (the one `xtalk --help` prints).

const ROOT = join(import.meta.dirname, '../..');
/** Pages another branch adds; README may link to them before the merge. Emptied when they land. */
const PENDING: string[] = [];

const FILES: MarkdownFile[] = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
].map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));

const ctx = createTestContext();
afterAll(() => rmSync(ctx.home, { recursive: true, force: true }));

/** Every command's action replaced by a no-op, so parsing runs nothing. */
function inertProgram(): XtalkProgram {
  const program = buildProgram(ctx);
  const quiet = (cmd: XtalkProgram) => {
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (cmd !== program) cmd.action(async () => 0);
    for (const sub of cmd.commands) quiet(sub as XtalkProgram);
  };
  quiet(program);
  return program;
}

/** What a docs line may leave out: a value or argument shown as a placeholder elsewhere, or `--help`. */
const ACCEPTED = new Set([
  'commander.helpDisplayed',
  'commander.help',
  'commander.version',
  'commander.missingArgument',
  'commander.optionMissingArgument',
]);

/** The same two refusals (a value or argument left out), as commander words them. */
const ACCEPTED_WORDS = /^(missing required argument '[^']+'|option '[^']+' argument missing)$/;

/** Why commander refuses `xtalk <argv>`, or undefined when it parses. */
async function refusal(argv: string[]): Promise<string | undefined> {
  try {
    await inertProgram().parseAsync(argv, { from: 'user' });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return ACCEPTED.has(e.code) ? undefined : `${e.code}: ${e.message}`;
    // The program reports commander's refusals as UsageError (src/cli/program.ts) with commander's words.
    if (e instanceof UsageError) return ACCEPTED_WORDS.test(e.message) ? undefined : `UsageError: ${e.message}`;
    return String(e);
  }
}

async function unparsable(files: MarkdownFile[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    for (const { shown, argv } of xtalkCommandLines(file.text)) {
      const why = await refusal(argv);
      if (why) problems.push(`${file.path}: \`${shown}\` (xtalk ${argv.join(' ')}): ${why}`);
    }
  }
  return problems;
}

describe('README.md and docs/*.md', () => {
  it('every relative link names a file that exists and a heading it has', () => {
    expect(brokenLinks(FILES, ROOT, PENDING)).toEqual([]);
  });

  it('every `xtalk …` command line shown parses: a known command with known flags', async () => {
    const shown = FILES.flatMap((f) => xtalkCommandLines(f.text));
    expect(shown.length).toBeGreaterThan(100);
    expect(await unparsable(FILES)).toEqual([]);
  });

  it('README links every page of docs/', () => {
    const readme = FILES.find((f) => f.path === 'README.md')!.text;
    for (const file of FILES.filter((f) => f.path.startsWith('docs/'))) expect(readme).toContain(`](${file.path})`);
  });
});

describe('the checks themselves', () => {
  it('GitHub anchors: punctuation dropped, spaces to hyphens, repeats numbered', () => {
    const anchors = headingAnchors(
      '# Shared machines (labs, classrooms)\n## `xtalk doctor`\n## Use from Node\n## Use from Node\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual(['shared-machines-labs-classrooms', 'xtalk-doctor', 'use-from-node', 'use-from-node-1']);
  });

  it('a missing file or heading is reported; a pending page is not', () => {
    const files = [
      {
        path: 'README.md',
        text: '[a](docs/a.md#there) [b](docs/a.md#gone) [c](docs/nope.md) [d](docs/soon.md) [e](#top) [f](https://x.example/#y)\n# Top\n',
      },
      { path: 'docs/a.md', text: '# There\n[back](../README.md#top) [bad](../README.md#bottom)\n' },
    ];
    expect(brokenLinks(files, '/nonexistent', ['docs/soon.md'])).toEqual([
      'README.md: (docs/a.md#gone): no heading #gone in docs/a.md',
      'README.md: (docs/nope.md): no file docs/nope.md',
      'docs/a.md: (../README.md#bottom): no heading #bottom in README.md',
    ]);
  });

  it('finds xtalk in pipes, $(…), after variables, with placeholders and alternatives', () => {
    expect(shellCommands(`curl -H "Bearer $(xtalk token)" x | jq '.[] | .a' > out 2>&1 && xtalk login # note`)).toEqual([
      ['curl', '-H', 'Bearer $(xtalk token)', 'x'],
      ['jq', '.[] | .a'],
      ['xtalk', 'login'],
    ]);
    const md =
      '```sh\n$ XTALK_X=1 xtalk whoami --json | jq .\necho "$(xtalk token --min-ttl 60)"\n```\n| `xtalk config get\\|set` | `xtalk switch <account>` | `xtalk exec [--env NAME] -- CMD`\n';
    expect(xtalkCommandLines(md).map((c) => c.argv)).toEqual([
      ['whoami', '--json'],
      ['config', 'get'],
      ['config', 'set'],
      ['switch', 'PLACEHOLDER'],
      ['exec', '--env', 'NAME', '--', 'CMD'],
      ['token', '--min-ttl', '60'],
    ]);
  });

  it('fails on a made-up flag, an unknown command and a bad choice, in a code block or inline', async () => {
    const page = {
      path: 'docs/x.md',
      text: '```sh\nxtalk token --bogus-flag\nxtalk frobnicate\n```\nRun `xtalk login --prompt never` or `xtalk status`.\n',
    };
    const problems = await unparsable([page]);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("UsageError: unknown option '--bogus-flag'");
    expect(problems[1]).toContain("UsageError: unknown command 'frobnicate'");
    expect(problems[2]).toMatch(/UsageError: option '--prompt <[^>]+>' argument 'never' is invalid/);
  });
});
