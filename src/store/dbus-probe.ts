import { connect } from 'node:net';

/*
 * @napi-rs/keyring opens its D-Bus connection synchronously on the main thread: a session bus or a
 * Secret Service that never answers blocks the whole process (the timer that should give up never
 * runs), forever or for libdbus's 25 s. This asks the same questions first, without blocking:
 * connect, authenticate, Hello, then Ping org.freedesktop.secrets.
 */

const SECRETS = 'org.freedesktop.secrets';
const HELLO_SERIAL = 1;
const PING_SERIAL = 2;
const METHOD_RETURN = 2;
const ERROR = 3;

/**
 * Resolves with the reason the Secret Service cannot be used, or undefined when it answered (or the
 * address is one this check does not understand, in which case the keychain library decides).
 * Resolves, never rejects; an aborted check reports that nothing answered.
 */
export function checkSecretService(address: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
  const target = address === undefined ? undefined : unixSocketOf(address);
  if (!target) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = connect({ path: target.path });
    let settled = false;
    let authenticated = false;
    let busAnswered = false;
    let pending: Buffer = Buffer.alloc(0);
    const finish = (reason: string | undefined) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(reason);
    };
    const onAbort = () =>
      finish(busAnswered ? 'the Secret Service (org.freedesktop.secrets) does not answer' : `the D-Bus session bus at ${target.shown} does not answer`);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('connect', () => {
      const uid = process.getuid?.() ?? 0;
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid)).toString('hex')}\r\n`);
    });
    // A refused or closed connection fails fast in the library too, which then names the problem.
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!authenticated) {
        const end = pending.indexOf('\r\n');
        if (end < 0) return;
        const line = pending.subarray(0, end).toString('latin1');
        pending = pending.subarray(end + 2);
        // REJECTED: libdbus may still get in with another mechanism.
        if (!line.startsWith('OK ')) return finish(undefined);
        authenticated = true;
        socket.write(
          Buffer.concat([
            Buffer.from('BEGIN\r\n'),
            methodCall(HELLO_SERIAL, '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello', 'org.freedesktop.DBus'),
            methodCall(PING_SERIAL, '/org/freedesktop/secrets', 'org.freedesktop.DBus.Peer', 'Ping', SECRETS),
          ]),
        );
      }
      let parsed;
      try {
        parsed = readMessages(pending);
      } catch {
        return finish(undefined);
      }
      pending = parsed.rest;
      for (const m of parsed.messages) {
        if (m.replySerial === HELLO_SERIAL) busAnswered = true;
        if (m.type === ERROR && m.replySerial === HELLO_SERIAL) return finish(`the D-Bus session bus refused the connection (${m.errorName})`);
        if (m.replySerial !== PING_SERIAL) continue;
        if (m.type === METHOD_RETURN) return finish(undefined);
        if (m.type === ERROR) return finish(pingFailure(m.errorName ?? ''));
      }
    });
  });
}

function pingFailure(errorName: string): string | undefined {
  if (/ServiceUnknown|NameHasNoOwner/.test(errorName)) return 'no Secret Service on the session bus';
  if (/Spawn\./.test(errorName)) return `the Secret Service could not be started (${errorName})`;
  if (/NoReply|Timeout|TimedOut/.test(errorName)) return 'the Secret Service does not answer';
  // Any other error (say, UnknownMethod) still came from a live service.
  return undefined;
}

interface Target {
  path: string;
  shown: string;
}

/** The first address of a D-Bus address list, when it is a unix socket (libdbus tries that one first). */
function unixSocketOf(address: string): Target | undefined {
  const first = address.split(';').find((e) => e.trim() !== '');
  if (!first?.startsWith('unix:')) return undefined;
  const params = new Map<string, string>();
  for (const pair of first.slice('unix:'.length).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      params.set(pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  const path = params.get('path');
  if (path) return { path, shown: path };
  const abstract = params.get('abstract');
  if (abstract) return { path: `\0${abstract}`, shown: `@${abstract}` };
  return undefined;
}

/** A little-endian METHOD_CALL message without a body. */
function methodCall(serial: number, path: string, iface: string, member: string, destination: string): Buffer {
  const buf = Buffer.alloc(512);
  let off = 0;
  const pad = (n: number) => {
    while (off % n !== 0) buf[off++] = 0;
  };
  const byte = (v: number) => {
    buf[off++] = v;
  };
  const u32 = (v: number) => {
    pad(4);
    buf.writeUInt32LE(v, off);
    off += 4;
  };
  const text = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    u32(bytes.length);
    off += bytes.copy(buf, off);
    byte(0);
  };
  byte(0x6c); // 'l': little endian
  byte(1); // METHOD_CALL
  byte(0); // flags
  byte(1); // protocol version
  u32(0); // body length
  u32(serial);
  const lengthAt = off;
  u32(0);
  const start = off;
  const fields: Array<[number, 'o' | 's', string]> = [
    [1, 'o', path],
    [2, 's', iface],
    [3, 's', member],
    [6, 's', destination],
  ];
  for (const [code, type, value] of fields) {
    pad(8);
    byte(code);
    byte(1);
    buf.write(type, off, 'latin1');
    off += 1;
    byte(0);
    text(value);
  }
  buf.writeUInt32LE(off - start, lengthAt);
  pad(8);
  return Buffer.from(buf.subarray(0, off));
}

interface Message {
  type: number;
  replySerial?: number;
  errorName?: string;
}

/** Splits complete messages off `data`, reading only the header fields this check needs. */
function readMessages(data: Buffer): { messages: Message[]; rest: Buffer } {
  const messages: Message[] = [];
  const align = (n: number, k: number) => Math.ceil(n / k) * k;
  while (data.length >= 16) {
    const little = data[0] === 0x6c;
    if (!little && data[0] !== 0x42) throw new Error('not a D-Bus message');
    const u32 = (at: number) => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
    const fieldsEnd = 16 + u32(12);
    const total = align(fieldsEnd, 8) + u32(4);
    if (data.length < total) break;
    const message: Message = { type: data[1]! };
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
