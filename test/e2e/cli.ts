import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const XTALK_BIN = fileURLToPath(new URL('../../bin/xtalk.cjs', import.meta.url));
export const CHROMIUM_BROWSER = fileURLToPath(new URL('./chromium-browser.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`npm run build` first) as a child process with exactly the given environment. */
export function runCli(
  args: string[],
  opts: { env: Record<string, string | undefined>; cwd?: string; stdin?: string; timeoutMs?: number },
): Promise<CliResult> {
  return runProgram(process.execPath, [XTALK_BIN, ...args], opts);
}

/**
 * Runs `file` with exactly the given environment (plus PATH and HOME) and `stdin` (empty unless
 * given); SIGKILLed after `timeoutMs` (default 60 s), so a program that does not end by itself fails.
 */
export function runProgram(
  file: string,
  args: string[],
  opts: { env: Record<string, string | undefined>; cwd?: string; stdin?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A BROWSER command line that signs in as `login` through headless Chromium. */
export function chromiumBrowserCommand(login: string): string {
  return `"${process.execPath}" "${CHROMIUM_BROWSER}" --login ${login}`;
}

/** A CLI child the test talks to while it runs: its stderr so far, its stdin, its result. */
export interface RunningCli {
  pid: number;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects if the CLI exits first. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  write(text: string): void;
  endStdin(text?: string): void;
  done: Promise<CliResult>;
}

/** Starts the built CLI with stdin left open, for tests that read its prompts and answer them. */
export function startCli(args: string[], opts: { env: Record<string, string | undefined>; timeoutMs?: number }): RunningCli {
  const child = spawn(process.execPath, [XTALK_BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    async waitForStderr(pattern, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(stderr);
        if (match) return match;
        if (exited || Date.now() > end) throw new Error(`no ${pattern} in the CLI's stderr${exited ? ' (it exited)' : ''}:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    write: (text) => void child.stdin.write(text),
    endStdin: (text) => void child.stdin.end(text ?? ''),
    done,
  };
}

/** Runs the Chromium driver as its own process (not as BROWSER) and resolves with its exit and log. */
export function runChromium(args: string[], timeoutMs = 90_000): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHROMIUM_BROWSER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, log });
    });
  });
}

/** The environment of a CLI child signed in to `provider` with its confidential client, in `home`. */
export function clientEnv(
  provider: { issuer: string; confidentialClient: { clientId: string; clientSecret: string } },
  home: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    XTALK_HOME: home,
    XTALK_ISSUER: provider.issuer,
    XTALK_CLIENT_ID: provider.confidentialClient.clientId,
    XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
    ...extra,
  };
}
