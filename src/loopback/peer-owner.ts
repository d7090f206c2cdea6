import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { judgeLoopbackPeer, type LoopbackPeerVerdict } from '../core/loopback-peer.js';

/** Both ends of a TCP connection as Node names them on the listener's side. */
export interface ConnectionEnds {
  /** The listener's address and port (`socket.localAddress`, `socket.localPort`). */
  localAddress: string;
  localPort: number;
  /** The client's (`socket.remoteAddress`, `socket.remotePort`). */
  remoteAddress: string;
  remotePort: number;
}

/** Reads one of Linux's socket tables, `tcp` or `tcp6` (/proc/net/…). */
export type ReadTable = (name: 'tcp' | 'tcp6') => string;

const readProcTable: ReadTable = (name) => readFileSync(`/proc/net/${name}`, 'utf8');

// A closed connection lingers in TIME_WAIT with uid 0: never an owner.
const TIME_WAIT = '06';

/**
 * An address as /proc/net/tcp{,6} prints it, as text Node would give (`127.0.0.1`, `::1`). The
 * kernel prints the address's 32-bit words as numbers in the machine's byte order: one word for
 * IPv4, four for IPv6. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) becomes the IPv4 address,
 * as the same connection seen from an IPv4 socket. Undefined for anything else.
 */
export function parseProcAddress(hex: string, order: 'BE' | 'LE' = endianness()): string | undefined {
  if (!/^(?:[0-9A-Fa-f]{8}){1,4}$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return undefined;
  const bytes = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < hex.length / 8; i++) {
    const word = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    if (order === 'LE') bytes.writeUInt32LE(word, i * 4);
    else bytes.writeUInt32BE(word, i * 4);
  }
  if (bytes.length === 4) return bytes.join('.');
  const v4mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (v4mapped) return bytes.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return compressIpv6(groups);
}

/** `0:0:0:0:0:0:0:1` → `::1` (RFC 5952: the longest run of two or more zero groups, the first one). */
function compressIpv6(groups: string[]): string {
  let best = { at: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** Node's text for an address, with the IPv4-mapped form (`::ffff:127.0.0.2`) as IPv4, lower case. */
function canonical(address: string): string {
  const lower = address.toLowerCase();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(lower) ? lower.slice(7) : lower;
}

function parseEnd(field: string, order: 'BE' | 'LE'): { address: string; port: number } | undefined {
  const [hexAddress, hexPort] = field.split(':');
  if (hexAddress === undefined || hexPort === undefined || !/^[0-9A-Fa-f]{4}$/.test(hexPort)) return undefined;
  const address = parseProcAddress(hexAddress, order);
  return address === undefined ? undefined : { address, port: Number.parseInt(hexPort, 16) };
}

/**
 * The uid of the process that owns the client end of `ends`: the socket, in /proc/net/tcp or
 * /proc/net/tcp6, whose own address is the client's and whose peer is the listener — whatever the
 * client's address (127.0.0.2, an IPv6 socket connected to `::ffff:127.0.0.1`). Undefined when no
 * table shows it (not Linux, unreadable, the peer in another network namespace).
 */
export function loopbackPeerUid(
  ends: ConnectionEnds,
  readTable: ReadTable = readProcTable,
  order: 'BE' | 'LE' = endianness(),
): number | undefined {
  const client = canonical(ends.remoteAddress);
  const listener = canonical(ends.localAddress);
  // The table lists every socket of the machine (thousands in TIME_WAIT after a busy minute): only
  // rows that name both ports are taken apart.
  const hexPort = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const clientPort = hexPort(ends.remotePort);
  const listenerPort = hexPort(ends.localPort);
  for (const name of ['tcp', 'tcp6'] as const) {
    let table: string;
    try {
      table = readTable(name);
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      if (!line.includes(clientPort) || !line.includes(listenerPort)) continue;
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid …
      const [, local, remote, state, , , , uid] = line.trim().split(/\s+/);
      if (!local || !remote || state === TIME_WAIT || uid === undefined || !/^\d+$/.test(uid)) continue;
      const own = parseEnd(local, order);
      const peer = parseEnd(remote, order);
      if (own?.port === ends.remotePort && peer?.port === ends.localPort && own.address === client && peer.address === listener)
        return Number(uid);
    }
  }
  return undefined;
}

/**
 * What the loopback rule (src/core/loopback-peer.ts) says about the connection on `socket`: the
 * owner of its other end is looked up where the system tells it (Linux).
 */
export function judgeConnection(
  socket: Socket,
  platform: NodeJS.Platform = process.platform,
  readTable: ReadTable = readProcTable,
): LoopbackPeerVerdict {
  const ownUid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  let peerUid: number | undefined;
  if (platform === 'linux') {
    const { localAddress, localPort, remoteAddress, remotePort } = socket;
    if (localAddress && localPort && remoteAddress && remotePort)
      peerUid = loopbackPeerUid({ localAddress, localPort, remoteAddress, remotePort }, readTable);
  }
  return judgeLoopbackPeer({ platform, ownUid, peerUid });
}
