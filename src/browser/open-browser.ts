import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { BrowserVia } from '../core/ports.js';
import { ConfigError, XtalkError } from '../errors.js';
import { scrubEnv } from './child-env.js';
import { assertSafeBrowserUrl } from './url-guard.js';
import { browserSetting } from '../shared/browser-setting.js';
import { importOpen } from './import-open.js';

export { scrubEnv } from './child-env.js';

/** The subset of `child_process.spawn` that openBrowser uses; tests inject a spy. */
export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
/** The subset of the `open` package's default export that openBrowser uses. */
export type OpenPackageFunction = (target: string, options: { wait: false }) => Promise<unknown>;

export interface OpenBrowserOptions {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  spawn?: SpawnFunction;
  openPackage?: OpenPackageFunction;
  /**
   * The environment the `open` package's opener inherits (it has no env option): the real
   * machine's root passes process.env, whose secret-looking variables are hidden while it spawns.
   */
  processEnv?: NodeJS.ProcessEnv;
  /** On WSL: open through `wslview` or `powershell.exe` rather than the `open` package. */
  via?: BrowserVia | undefined;
}

// Long enough for exec to fail with ENOENT/EACCES; a healthy spawn reports 'spawn' within milliseconds.
const SPAWN_SETTLE_MS = 2000;

/**
 * Splits a `BROWSER`-style command line into argv the way a POSIX shell splits words, but with
 * nothing else a shell does (no globbing, variables, redirection): whitespace separates words,
 * `'…'` is literal, `"…"` honours `\"`, `\\`, `\$` and `` \` ``, a bare backslash escapes the next
 * character. Throws ConfigError on an unterminated quote.
 */
export function splitCommandLine(cmd: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < cmd.length) {
    const c = cmd[i] as string;
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw unterminated(cmd, "'");
      word += cmd.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= cmd.length) throw unterminated(cmd, '"');
        const d = cmd[i] as string;
        if (d === '"') break;
        const next = cmd[i + 1];
        if (d === '\\' && next !== undefined && '"\\$`'.includes(next)) {
          word += next;
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      // A trailing lone backslash is kept literally rather than silently dropped.
      word += cmd[i + 1] ?? '\\';
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function unterminated(cmd: string, quote: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `The browser command ${JSON.stringify(cmd)} has an unterminated ${quote} quote.`, {
    facts: { reason: 'browser_quote' },
  });
}

function pickBrowserCommand(env: OpenBrowserOptions['env']): { name: string; argv: string[] } | undefined {
  const named = browserSetting(env);
  const argv = named ? splitCommandLine(named.value) : [];
  return named && argv.length > 0 ? { name: named.name, argv } : undefined;
}

function spawnDetached(
  spawn: SpawnFunction,
  argv: string[],
  env: Record<string, string>,
  failure: (err: unknown) => XtalkError,
): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise<void>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, { shell: false, stdio: 'ignore', detached: true, windowsHide: true, env });
    } catch (err) {
      reject(failure(err));
      return;
    }
    const timer = setTimeout(resolve, SPAWN_SETTLE_MS);
    timer.unref();
    child.once('spawn', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(failure(err));
    });
    // Keep later errors from becoming uncaught; the browser outlives xtalk and is none of its business.
    child.on('error', () => {});
    child.unref();
  });
}

/** The argv that opens `url` on the Windows side of WSL. */
export function wslOpenerArgv(via: BrowserVia, url: string): string[] {
  if (via.kind === 'wslview') return [via.path, url];
  // A single-quoted PowerShell string has one escape, '' for '; the URL is already normalised
  // (percent-encoded, no spaces or non-ASCII), so nothing else can end the string.
  return [via.path, '-NoProfile', '-NonInteractive', '-Command', `Start-Process '${url.replace(/'/g, "''")}'`];
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function importOpenPackage(processEnv: NodeJS.ProcessEnv | undefined): Promise<OpenPackageFunction> {
  if (!processEnv) throw new Error('openBrowser needs processEnv (or openPackage) to use the system opener');
  const { default: open } = await importOpen();
  return async (target, options) => {
    // `open` has no env option and its opener inherits processEnv: hide secrets while it spawns.
    const kept = scrubEnv(processEnv);
    const hidden = Object.entries(processEnv).filter(([k]) => !(k in kept));
    for (const [k] of hidden) delete processEnv[k];
    try {
      return await open(target, options);
    } finally {
      for (const [k, v] of hidden) processEnv[k] = v;
    }
  };
}

/**
 * Hands a URL to the user's browser without waiting for it to exit. Refuses anything but https:
 * (and loopback http:). `XTALK_BROWSER`, else `BROWSER`, is run as argv with the URL appended,
 * without a shell and without secret-looking environment variables; then `via` (the WSL openers);
 * otherwise the `open` package picks the system browser. Rejects when the browser could not be started.
 */
export async function openBrowser(url: string, opts: OpenBrowserOptions): Promise<void> {
  const safeUrl = assertSafeBrowserUrl(url);
  const chosen = pickBrowserCommand(opts.env);
  if (chosen) {
    const command = chosen.argv[0] as string;
    if (opts.platform === 'win32' && /\.(bat|cmd)$/i.test(command)) {
      // Node refuses batch files without a shell (CVE-2024-27980), and xtalk never uses one.
      throw new ConfigError('CONFIG_INVALID', `${chosen.name} names a batch file (${command}), which xtalk cannot run without a shell.`, {
        facts: { reason: 'browser_batch', variable: chosen.name },
      });
    }
    const failure = (err: unknown) =>
      new XtalkError('ERROR', `Could not start the browser command ${JSON.stringify(command)} from ${chosen.name}: ${errorText(err)}`, {
        facts: { reason: 'browser_command', variable: chosen.name },
        cause: err,
      });
    await spawnDetached(opts.spawn ?? nodeSpawn, [...chosen.argv, safeUrl], scrubEnv(opts.env), failure);
    return;
  }
  if (opts.via) {
    const via = opts.via;
    const failure = (err: unknown) =>
      new XtalkError('ERROR', `Could not start ${via.path}: ${errorText(err)}`, { facts: { reason: 'wsl_opener' }, cause: err });
    await spawnDetached(opts.spawn ?? nodeSpawn, wslOpenerArgv(via, safeUrl), scrubEnv(opts.env), failure);
    return;
  }
  try {
    const open = opts.openPackage ?? (await importOpenPackage(opts.processEnv));
    await open(safeUrl, { wait: false });
  } catch (err) {
    throw new XtalkError('ERROR', `Could not open the system browser: ${errorText(err)}`, {
      facts: { reason: 'system_browser' },
      cause: err,
    });
  }
}
