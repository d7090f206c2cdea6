import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const EDGE_MODULE = fileURLToPath(new URL('../../src/cli/process-edge.ts', import.meta.url));

/**
 * Runs `body` in a fresh node after attachProcessEdge, with the 200 ms grace timer taken away (so
 * only how the run ends is seen, whatever the machine's load) and process.exit reporting its calls
 * on stderr. Returns stderr and the exit status.
 */
function endOfRun(body: string): { stderr: string; status: number | null } {
  const script = `
    import { writeSync, readFile } from 'node:fs';
    const { attachProcessEdge } = await import(${JSON.stringify(EDGE_MODULE)});
    const say = (text) => writeSync(2, text + '\\n');
    const exit = process.exit.bind(process);
    process.exit = (code) => { say('process.exit ' + (code ?? process.exitCode)); exit(code); };
    globalThis.setTimeout = () => ({ unref() {} });
    process.on('exit', (code) => say('exit event ' + code));
    const edge = attachProcessEdge('linux');
    ${body}`;
  try {
    const stderr = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { stderr, status: 0 };
  } catch (e) {
    const err = e as { stderr: string; status: number | null };
    return { stderr: err.stderr, status: err.status };
  }
}

describe('ProcessEdge.finish', () => {
  it('exits through process.exit once the run has nothing left to do, after the work still pending has finished', () => {
    // Pending work that is not a timer: a file read, then a write to stderr in its callback.
    const { stderr, status } = endOfRun(`
      readFile(${JSON.stringify(EDGE_MODULE)}, () => say('pending read done'));
      edge.finish(3);`);
    expect(status).toBe(3);
    // Left to end by itself, the process would tear the whole heap down first (no process.exit call).
    expect(stderr.split('\n').filter(Boolean)).toEqual(['pending read done', 'process.exit 3', 'exit event 3']);
  }, 30_000);
});
