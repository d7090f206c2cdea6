import { describe, expect, it } from 'vitest';
import { judgeLoopbackPeer } from '../../src/core/loopback-peer.js';

describe('judgeLoopbackPeer (who may use the loopback listener)', () => {
  it('on Linux: this user and root are allowed, another user is refused with its uid', () => {
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 1000, peerUid: 1000 })).toEqual({ allowed: true });
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 1000, peerUid: 0 })).toEqual({ allowed: true });
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 0, peerUid: 0 })).toEqual({ allowed: true });
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 1000, peerUid: 1001 })).toEqual({
      allowed: false,
      reason: 'other-user',
      peerUid: 1001,
    });
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 0, peerUid: 65534 })).toEqual({
      allowed: false,
      reason: 'other-user',
      peerUid: 65534,
    });
  });

  it('on Linux an owner that cannot be found is refused, not trusted', () => {
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: 1000, peerUid: undefined })).toEqual({ allowed: false, reason: 'owner-unknown' });
    expect(judgeLoopbackPeer({ platform: 'linux', ownUid: undefined, peerUid: 1000 })).toEqual({ allowed: false, reason: 'owner-unknown' });
  });

  it('elsewhere the system cannot tell who connected: allowed as before', () => {
    for (const platform of ['darwin', 'win32', 'freebsd'] as const) {
      expect(judgeLoopbackPeer({ platform, ownUid: 501, peerUid: undefined })).toEqual({ allowed: true });
      expect(judgeLoopbackPeer({ platform, ownUid: undefined, peerUid: undefined })).toEqual({ allowed: true });
    }
  });
});
