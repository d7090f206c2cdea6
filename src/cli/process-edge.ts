import { writeSync } from 'node:fs';

/**
 * What every xtalk run does to the process itself: Ctrl-C / SIGTERM abort the run's signal (a second
 * Ctrl-C exits at once), a closed stdout pipe ends the run quietly, and the exit code is set with a
 * short grace period, after which nothing (a detached browser, a keep-alive socket) holds the process.
 */
export interface ProcessEdge {
  /** Aborted on the first Ctrl-C or SIGTERM; the reason names the signal (for `xtalk exec`). */
  signal: AbortSignal;
  /**
   * process.stdout or process.stderr, created on first use with the EPIPE handling attached: creating
   * them up front would load node:net and the stream machinery on every start.
   */
  stream(fd: 1 | 2): NodeJS.WriteStream;
  /**
   * Writes to stdout synchronously through its file descriptor, without creating process.stdout;
   * once that stream exists (or the pipe is full), and on Windows, through the stream.
   */
  writeOut(text: string): void;
  /**
   * Ends the run with `code`: the process exits as soon as nothing is left to do (without Node's
   * teardown of the heap), or after a 200 ms grace period, whatever still holds it then.
   */
  finish(code: number): void;
  /** Removes the handlers again: the quick path hands a run over to the full program, which attaches its own. */
  detach(): void;
}

export function attachProcessEdge(platform: NodeJS.Platform = process.platform): ProcessEdge {
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now", even if cleanup hangs.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort(signal);
  };
  // A reader that stops early (`xtalk status | head -1`) closes the pipe: what is left to write is
  // unwanted, so stop quietly, as `cat` does, instead of an unhandled EPIPE with a stack trace.
  const onStreamError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watched = new Set<NodeJS.WriteStream>();
  const stream = (fd: 1 | 2) => {
    const s = fd === 1 ? process.stdout : process.stderr;
    if (!watched.has(s)) {
      watched.add(s);
      s.on('error', onStreamError);
    }
    return s;
  };
  let stdoutStream = false;
  return {
    signal: controller.signal,
    stream(fd) {
      if (fd === 1) stdoutStream = true;
      return stream(fd);
    },
    writeOut(text) {
      // Windows consoles take text through the stream (WriteConsoleW); raw UTF-8 bytes would be read
      // in the console's code page.
      if (stdoutStream || platform === 'win32') return void stream(1).write(text);
      const bytes = Buffer.from(text, 'utf8');
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(1, bytes, written);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') return onStreamError(e as NodeJS.ErrnoException);
        // A non-blocking pipe that is full: the stream queues the rest.
        if (code !== 'EAGAIN') throw e;
        stdoutStream = true;
        stream(1).write(bytes.subarray(written));
      }
    },
    finish(code) {
      process.exitCode = code;
      // Once nothing is left to do (every write flushed, every handle closed), exit at once: left
      // to end by itself, Node would first tear the whole heap down, tens of ms on a busy machine.
      process.once('beforeExit', () => process.exit(code));
      setTimeout(() => process.exit(code), 200).unref();
    },
    detach() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const s of watched) s.off('error', onStreamError);
    },
  };
}
