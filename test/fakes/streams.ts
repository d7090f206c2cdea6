import { PassThrough, Writable } from 'node:stream';

/** A writable that keeps everything written to it. */
export class CaptureStream extends Writable {
  private chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

export function createStdin(text?: string): PassThrough {
  const s = new PassThrough();
  if (text !== undefined) s.end(text);
  return s;
}
