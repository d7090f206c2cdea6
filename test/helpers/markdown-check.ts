import { existsSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * What README.md and docs/*.md are checked for: relative links (files and #anchors, with GitHub's
 * anchor rules) and `xtalk …` command lines. Pure over the texts given, so a test can feed it a
 * broken page and see the check fail.
 */

export interface MarkdownFile {
  /** Path from the repository root, e.g. `docs/security.md`. */
  path: string;
  text: string;
}

/** The text outside fenced code blocks, and the blocks themselves with their info string. */
function splitFences(text: string): { prose: string[]; blocks: { lang: string; lines: string[] }[] } {
  const prose: string[] = [];
  const blocks: { lang: string; lines: string[] }[] = [];
  let block: { lang: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    const fence = /^\s*```(\S*)/.exec(line);
    if (fence) {
      if (block) {
        blocks.push(block);
        block = undefined;
      } else {
        block = { lang: fence[1] ?? '', lines: [] };
      }
    } else if (block) {
      block.lines.push(line);
    } else {
      prose.push(line);
    }
  }
  return { prose, blocks };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2 … */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of splitFences(text).prose) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const plain = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/**
 * Every relative link of every file that does not resolve: a missing file (unless it is one of
 * `pending`, a page another branch adds) or an anchor its target has no heading for.
 */
export function brokenLinks(files: MarkdownFile[], root: string, pending: readonly string[] = []): string[] {
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  const problems: string[] = [];
  for (const file of files) {
    const prose = splitFences(file.text)
      .prose.join('\n')
      .replace(/`[^`\n]*`/g, '');
    for (const match of prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const targetPath = pathPart === '' ? file.path : normalize(join(dirname(file.path), pathPart));
      const where = `${file.path}: (${target})`;
      if (pending.includes(relative('.', targetPath))) continue;
      const text = byPath.get(targetPath);
      if (text === undefined && !existsSync(join(root, targetPath))) {
        problems.push(`${where}: no file ${targetPath}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (text === undefined) {
        problems.push(`${where}: an anchor into a file that is not checked`);
      } else if (!headingAnchors(text).has(anchor)) {
        problems.push(`${where}: no heading #${anchor} in ${targetPath}`);
      }
    }
  }
  return problems;
}

/** The command lines a shell would run for one line of shell text: split at pipes, lists, `$(`, with quotes and redirections removed. */
export function shellCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let skipNext = false;
  const endWord = () => {
    if (word !== undefined) {
      if (skipNext) skipNext = false;
      else words.push(word);
    }
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      const end = close === -1 ? line.length : close;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      endWord();
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === '|' && word !== undefined && i + 1 < line.length && !/[\s|]/.test(line[i + 1]!)) {
      word += '\u0000'; // `get|set`: alternatives, as docs write them
    } else if ('|&;()`'.includes(c) || (c === '$' && line[i + 1] === '(')) {
      endCommand();
      if (c === '$') i++;
    } else if (c === '>' || c === '<') {
      if (word !== undefined && /^\d*$/.test(word)) word = undefined; // 2>
      endWord();
      if (line[i + 1] === '>' || line[i + 1] === '&') i++;
      skipNext = true;
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}

/** The argv lists (after `xtalk`) of every `xtalk …` command shown, each alternative of `a|b` once. */
export function xtalkCommandLines(text: string): { shown: string; argv: string[] }[] {
  const { prose, blocks } = splitFences(text);
  const lines: string[] = [];
  for (const block of blocks) {
    if (!['', 'sh', 'bash', 'console', 'shell'].includes(block.lang)) continue;
    lines.push(
      ...block.lines
        .join('\n')
        .replace(/\\\n/g, ' ')
        .split('\n')
        .map((l) => l.replace(/^\$ /, '')),
    );
  }
  for (const line of prose) {
    for (const span of line.matchAll(/`([^`]+)`/g)) {
      if (!span[1]!.startsWith('xtalk ')) continue;
      // In a table a code span's `|` is written `\|`; `<account>`, `[--env NAME]` are placeholders.
      lines.push(
        span[1]!
          .replace(/\\\|/g, '|')
          .replace(/<[A-Za-z][^<>\s]*>/g, 'PLACEHOLDER')
          .replace(/[[\]]/g, ''),
      );
    }
  }
  // A `$(…)` runs its own command, also inside double quotes.
  for (const line of [...lines]) for (const sub of line.matchAll(/\$\(([^()]*)\)/g)) lines.push(sub[1]!);
  const result: { shown: string; argv: string[] }[] = [];
  for (const line of lines.map((l) => l.replace(/\$\([^()]*\)/g, 'SUBST'))) {
    for (const words of shellCommands(line)) {
      const start = words.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
      if (words[start] !== 'xtalk') continue;
      const argv = words.slice(start + 1);
      const alternatives = argv.map((w) => w.split('\u0000'));
      const widest = Math.max(1, ...alternatives.map((a) => a.length));
      for (let k = 0; k < widest; k++) {
        result.push({ shown: line.trim(), argv: alternatives.map((a) => a[Math.min(k, a.length - 1)]!) });
      }
    }
  }
  return result;
}
