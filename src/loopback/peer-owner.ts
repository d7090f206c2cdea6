import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

// 127.0.0.1 as /proc/net/tcp prints it: the address in host byte order (little- or big-endian).
const LOOPBACK_HEX = new Set(['0100007F', '7F000001']);

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * The uid of the process that opened the other end of a TCP connection to 127.0.0.1:`listenPort`
 * from `peerPort`, read from Linux's /proc/net/tcp; undefined on other systems, or when the table
 * does not show it (the peer is outside this network namespace, e.g. WSL's mirrored networking).
 */
export function loopbackPeerUid(listenPort: number, peerPort: number, readTable: () => string = () => readFileSync('/proc/net/tcp', 'utf8')): number | undefined {
  let table: string;
  try {
    table = readTable();
  } catch {
    return undefined;
  }
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid …
    const [, local, remote, , , , , uid] = line.trim().split(/\s+/);
    if (!local || !remote || uid === undefined) continue;
    const [localIp, localPort] = local.split(':');
    const [remoteIp, remotePort] = remote.split(':');
    if (localPort === hexPort(peerPort) && remotePort === hexPort(listenPort) && LOOPBACK_HEX.has(localIp!) && LOOPBACK_HEX.has(remoteIp!)) {
      return Number(uid);
    }
  }
  return undefined;
}

/**
 * False when the connection provably comes from another user of this machine (Linux): neither this
 * process's uid nor root, who can read everything anyway. Unknown owners are let through, so the
 * check can only tighten what the listener already allows.
 */
export function isOwnUsersConnection(socket: Socket, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux' || typeof process.getuid !== 'function' || !socket.localPort || !socket.remotePort) return true;
  const uid = loopbackPeerUid(socket.localPort, socket.remotePort);
  return uid === undefined || uid === process.getuid() || uid === 0;
}
