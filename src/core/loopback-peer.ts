/**
 * Who may use xtalk's loopback listener (the start link, the sign-in callback, the sign-out
 * callback): this user's processes and root's (who can read everything anyway), nobody else.
 * Every path the listener serves asks this rule first (src/loopback/server.ts).
 */

/** Why a connection was refused: its owner is another user, or the owner could not be found. */
export type LoopbackPeerRefusal = 'other-user' | 'owner-unknown';

export type LoopbackPeerVerdict = { allowed: true } | { allowed: false; reason: LoopbackPeerRefusal; peerUid?: number };

export interface LoopbackPeer {
  platform: NodeJS.Platform;
  /** This process's uid (undefined where the system has none, e.g. Windows). */
  ownUid: number | undefined;
  /** The uid owning the other end of the connection, as the system tells it; undefined when it cannot be found. */
  peerUid: number | undefined;
}

/**
 * On Linux the kernel names every TCP socket's owner, so a connection whose owner cannot be found
 * (a table that does not show it, a peer in another network namespace) is refused rather than
 * trusted. Other systems cannot tell who connected: allowed, as the one-time link and `state` are
 * then all there is.
 */
export function judgeLoopbackPeer({ platform, ownUid, peerUid }: LoopbackPeer): LoopbackPeerVerdict {
  if (platform !== 'linux') return { allowed: true };
  if (peerUid === undefined || ownUid === undefined) return { allowed: false, reason: 'owner-unknown' };
  if (peerUid === ownUid || peerUid === 0) return { allowed: true };
  return { allowed: false, reason: 'other-user', peerUid };
}
