/**
 * Every door to the terminal goes through src/output/ui.ts, which escapes what a provider or a
 * server sent (src/core/terminal-text.ts). This scans src/ so that a new command, or a new write in
 * an old one, cannot print around the owner.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Files that may write to stdout or stderr themselves, each with its reason. */
const ALLOWED: Record<string, string> = {
  'output/ui.ts': 'the owner',
  'cli/process-edge.ts': 'builds the streams ui.ts writes to (and the synchronous stdout write)',
  'output/read-secret.ts': 'the prompt before a hidden read: fixed text of ours, no newline after it',
  'system-services.ts': "the crash tests' fault-point marker (fixed text, only under XTALK_TEST_FAULT_POINT)",
};

/** A write to fd 1 or 2: a stream's write, console output, or a raw fd write. */
const DOOR =
  /\b(?:process\.)?(?:stdout|stderr)\.write\(|\bconsole\.(?:log|error|warn|info|debug|trace|dir)\(|\bwriteSync\(\s*[12]\s*,|\bprocess\.(?:stdout|stderr)\.end\(/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `file:line: text` for each line of `text` that opens a door to the terminal (comments skipped). */
function doorsIn(file: string, text: string): string[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => !/^\s*(\/\/|\*|\/\*)/.test(line) && DOOR.test(line))
    .map(({ line, n }) => `${file}:${n}: ${line.trim()}`);
}

describe('the doors to the terminal', () => {
  it('only src/output/ui.ts (and the listed exceptions) write to stdout or stderr', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => {
      const rel = relative(SRC, f).split('\\').join('/');
      return ALLOWED[rel] ? [] : doorsIn(rel, readFileSync(f, 'utf8'));
    });
    expect(found).toEqual([]);
  });

  it('recognises each kind of door', () => {
    for (const line of [
      'ctx.io.stdout.write(text);',
      'process.stderr.write(`x`);',
      'console.log(value);',
      'console.error(e)',
      'writeSync(1, bytes);',
      '  io.stderr.write(line + "\\n")',
    ]) {
      expect(doorsIn('x.ts', line), line).toHaveLength(1);
    }
    expect(
      doorsIn('x.ts', ['// ctx.io.stdout.write(text)', ' * console.log(x)', 'writeSync(fd, chunk);', 'ui.data(text);'].join('\n')),
    ).toEqual([]);
  });
});

describe('our styles are applied after escaping, in one place', () => {
  /** An escape character written into source: `\x1b`, `\u001b`, `\u{1b}`, `\033`, `\e`. */
  const ESC_LITERAL = /\\x1b|\\u001b|\\u\{1b\}|\\033(?!\d)/i;

  it('only src/output/palette.ts and ui.ts (the spinner) spell an escape sequence, and only ui.ts imports the palette', () => {
    const found = sourceFiles(SRC).flatMap((f) => {
      const rel = relative(SRC, f).split('\\').join('/');
      const text = readFileSync(f, 'utf8');
      const problems: string[] = [];
      if (!['output/palette.ts', 'output/ui.ts', 'core/terminal-text.ts'].includes(rel) && ESC_LITERAL.test(text))
        problems.push(`${rel}: an escape sequence of its own`);
      if (rel !== 'output/ui.ts' && /from '[./]*(?:output\/)?palette\.js'/.test(text)) problems.push(`${rel}: imports the palette`);
      return problems;
    });
    expect(found).toEqual([]);
  });
});
