import type { Io } from '../core/ports.js';
import { CancelledError, UsageError } from '../errors.js';

/**
 * Reads a secret: on a terminal with a prompt and without echo, otherwise the whole of stdin
 * (so it can be piped in). Trailing newlines are dropped.
 */
export async function readSecret(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  let text: string;
  if (io.stdinIsTTY && typeof stdin.setRawMode === 'function') {
    io.stderr.write(prompt);
    text = await readHidden(stdin);
    io.stderr.write('\n');
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  }
  const value = text.replace(/\r?\n$/, '');
  if (!value) throw new UsageError('USAGE', 'No secret given.', { facts: { reason: 'no_secret' } });
  return value;
}

function readHidden(stdin: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const done = (fn: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      fn();
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(value));
        if (ch === '\u0003') return done(() => reject(new CancelledError('CANCELLED', 'Cancelled.')));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
