/*
 * Just enough of the D-Bus wire format for the Secret Service conversation in secret-service-read.ts:
 * little-endian method calls with a body of strings, object paths, byte arrays, a{ss} and a
 * variant of ay; and the header fields and those same body types in replies (either endianness).
 */

export const METHOD_RETURN = 2;
export const ERROR = 3;

/** Appends values with D-Bus alignment; offsets count from the start of what it writes (8-aligned). */
export class WireWriter {
  #buf = Buffer.alloc(256);
  #off = 0;

  get length(): number {
    return this.#off;
  }

  #room(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.#buf.length * 2, this.#off + n));
    this.#buf.copy(bigger, 0, 0, this.#off);
    this.#buf = bigger;
  }

  pad(n: number): this {
    this.#room(n);
    while (this.#off % n !== 0) this.#buf[this.#off++] = 0;
    return this;
  }

  byte(v: number): this {
    this.#room(1);
    this.#buf[this.#off++] = v;
    return this;
  }

  u32(v: number): this {
    this.pad(4).#room(4);
    this.#buf.writeUInt32LE(v, this.#off);
    this.#off += 4;
    return this;
  }

  /** Overwrites a u32 written earlier (a length known only afterwards). */
  patchU32(at: number, v: number): void {
    this.#buf.writeUInt32LE(v, at);
  }

  /** `s` and `o`. */
  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.u32(bytes.length).#room(bytes.length + 1);
    this.#off += bytes.copy(this.#buf, this.#off);
    return this.byte(0);
  }

  signature(s: string): this {
    this.byte(s.length).#room(s.length + 1);
    this.#off += this.#buf.write(s, this.#off, 'latin1');
    return this.byte(0);
  }

  bytes(b: Buffer): this {
    this.u32(b.length).#room(b.length);
    this.#off += b.copy(this.#buf, this.#off);
    return this;
  }

  /** a{ss} */
  stringDict(entries: Record<string, string>): this {
    const lengthAt = this.u32(0).#off - 4;
    this.pad(8);
    const start = this.#off;
    for (const [k, v] of Object.entries(entries)) this.pad(8).string(k).string(v);
    this.patchU32(lengthAt, this.#off - start);
    return this;
  }

  done(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#off));
  }
}

/** A METHOD_CALL message; `body` must have been written by a {@link WireWriter} for `signature`. */
export function methodCall(
  serial: number,
  call: { path: string; iface: string; member: string; destination: string; signature?: string; body?: Buffer },
): Buffer {
  const body = call.body ?? Buffer.alloc(0);
  const w = new WireWriter();
  w.byte(0x6c).byte(1).byte(0).byte(1); // little endian, METHOD_CALL, no flags, protocol 1
  w.u32(body.length).u32(serial);
  const lengthAt = w.u32(0).length - 4;
  const start = w.length;
  const fields: Array<[number, 'o' | 's' | 'g', string]> = [
    [1, 'o', call.path],
    [2, 's', call.iface],
    [3, 's', call.member],
    [6, 's', call.destination],
  ];
  if (call.signature) fields.push([8, 'g', call.signature]);
  for (const [code, type, value] of fields) {
    w.pad(8).byte(code).signature(type);
    if (type === 'g') w.signature(value);
    else w.string(value);
  }
  w.patchU32(lengthAt, w.length - start);
  w.pad(8);
  return Buffer.concat([w.done(), body]);
}

export interface Message {
  type: number;
  replySerial?: number;
  errorName?: string;
  signature: string;
  little: boolean;
  body: Buffer;
}

/** Splits complete messages off `data`; throws on bytes that are not D-Bus. */
export function readMessages(data: Buffer): { messages: Message[]; rest: Buffer } {
  const messages: Message[] = [];
  const align = (n: number, k: number) => Math.ceil(n / k) * k;
  while (data.length >= 16) {
    const little = data[0] === 0x6c;
    if (!little && data[0] !== 0x42) throw new Error('not a D-Bus message');
    const u32 = (at: number) => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
    const fieldsEnd = 16 + u32(12);
    const bodyStart = align(fieldsEnd, 8);
    const total = bodyStart + u32(4);
    if (data.length < total) break;
    const message: Message = { type: data[1]!, signature: '', little, body: data.subarray(bodyStart, total) };
    let off = 16;
    while (off < fieldsEnd) {
      off = align(off, 8);
      const code = data[off]!;
      const sigLength = data[off + 1]!;
      const sig = data.toString('latin1', off + 2, off + 2 + sigLength);
      off += 3 + sigLength;
      if (sig === 'u') {
        off = align(off, 4);
        if (code === 5) message.replySerial = u32(off);
        off += 4;
      } else if (sig === 's' || sig === 'o') {
        off = align(off, 4);
        const length = u32(off);
        if (code === 4) message.errorName = data.toString('utf8', off + 4, off + 4 + length);
        off += 4 + length + 1;
      } else if (sig === 'g') {
        if (code === 8) message.signature = data.toString('latin1', off + 1, off + 1 + data[off]!);
        off += 1 + data[off]! + 1;
      } else {
        break;
      }
    }
    messages.push(message);
    data = data.subarray(total);
  }
  return { messages, rest: data };
}

/** Reads a reply body in order; offsets count from the body's start (which is 8-aligned). Throws past the end. */
export class WireReader {
  #off = 0;
  readonly #m: Message;

  constructor(m: Message) {
    this.#m = m;
  }

  #align(n: number): void {
    this.#off = Math.ceil(this.#off / n) * n;
  }

  #u32(): number {
    this.#align(4);
    const { body, little } = this.#m;
    const v = little ? body.readUInt32LE(this.#off) : body.readUInt32BE(this.#off);
    this.#off += 4;
    return v;
  }

  /** `s` or `o`. */
  string(): string {
    const length = this.#u32();
    const s = this.#m.body.toString('utf8', this.#off, this.#off + length);
    if (this.#off + length >= this.#m.body.length) throw new RangeError('string past the end');
    this.#off += length + 1;
    return s;
  }

  signature(): string {
    const length = this.#m.body[this.#off]!;
    const s = this.#m.body.toString('latin1', this.#off + 1, this.#off + 1 + length);
    this.#off += length + 2;
    return s;
  }

  bytes(): Buffer {
    const length = this.#u32();
    if (this.#off + length > this.#m.body.length) throw new RangeError('bytes past the end');
    const b = Buffer.from(this.#m.body.subarray(this.#off, this.#off + length));
    this.#off += length;
    return b;
  }

  /** `ao` */
  paths(): string[] {
    const length = this.#u32();
    const end = this.#off + length;
    const out: string[] = [];
    while (this.#off < end) out.push(this.string());
    return out;
  }

  /** The start of a struct. */
  struct(): this {
    this.#align(8);
    return this;
  }
}
