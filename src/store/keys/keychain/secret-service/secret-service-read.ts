import type * as NodeNet from 'node:net';
import { ERROR, METHOD_RETURN, methodCall, readMessages, WireReader, WireWriter } from './dbus-wire.js';
import { transferKeys } from './transfer-keys.js';

/*
 * @napi-rs/keyring opens its D-Bus connection synchronously on the main thread: a session bus or a
 * Secret Service that never answers blocks the whole process (the timer that should give up never
 * runs), forever or for libdbus's 25 s. This asks the same questions first, without blocking:
 * connect, authenticate, Hello, then Ping org.freedesktop.secrets.
 */

const SECRETS = 'org.freedesktop.secrets';
const SERVICE_PATH = '/org/freedesktop/secrets';
const HELLO_SERIAL = 1;
const PING_SERIAL = 2;
const SESSION_SERIAL = 3;
const SEARCH_SERIAL = 4;
const SECRET_SERIAL = 5;

/**
 * Resolves with the reason the Secret Service cannot be used, or undefined when it answered (or the
 * address is one this check does not understand, in which case the keychain library decides).
 * Resolves, never rejects; an aborted check reports that nothing answered.
 */
export async function checkSecretService(address: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
  return (await askSecretService(address, signal)).problem;
}

/** What one conversation with the Secret Service found out. */
export interface SecretServiceAnswer {
  /** Why the Secret Service cannot be used; undefined when it answered (or could not be asked). */
  problem?: string;
  /**
   * With `lookup`: the secret of the one unlocked item whose attributes match. Undefined whenever
   * the answer is anything else (no item, several, locked, an unexpected reply): the keychain
   * library then decides, as it did before this read existed.
   */
  secret?: string;
}

/**
 * The probe above, and with `lookup` the read of one secret in the same connection: after
 * Hello and the Ping come OpenSession (the same encrypted transfer the keychain library uses,
 * dh-ietf1024-sha256-aes128-cbc-pkcs7) and SearchItems, all sent at once, then GetSecret.
 * The library would connect twice more for the same read, synchronously.
 */
export function askSecretService(
  address: string | undefined,
  signal?: AbortSignal,
  lookup?: Record<string, string>,
): Promise<SecretServiceAnswer> {
  const target = address === undefined ? undefined : unixSocketOf(address);
  if (!target) return Promise.resolve({});
  return new Promise((resolve) => {
    // node:net on first use: this module is on every quick path, the bus only on the keychain's.
    const socket = (process.getBuiltinModule('node:net') as typeof NodeNet).connect({ path: target.path });
    let settled = false;
    let authenticated = false;
    let busAnswered = false;
    let pending: Buffer = Buffer.alloc(0);
    const crypto = lookup ? transferKeys() : undefined;
    let serverKey: Buffer | undefined;
    let session: string | undefined;
    let items: string[] | undefined;
    let decryptSecret: ((iv: Buffer, value: Buffer) => string) | undefined;
    const finish = (answer: SecretServiceAnswer) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(answer);
    };
    const onAbort = () =>
      finish({
        problem: busAnswered
          ? 'the Secret Service (org.freedesktop.secrets) does not answer'
          : `the D-Bus session bus at ${target.shown} does not answer`,
      });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    // Everything is sent at once, the authentication included (as sd-bus does): one round trip to
    // the bus for the probe and the search, the GetSecret below a second one.
    const uid = process.getuid?.() ?? 0;
    const calls = [
      Buffer.from(`\0AUTH EXTERNAL ${Buffer.from(String(uid)).toString('hex')}\r\nBEGIN\r\n`),
      methodCall(HELLO_SERIAL, {
        path: '/org/freedesktop/DBus',
        iface: 'org.freedesktop.DBus',
        member: 'Hello',
        destination: 'org.freedesktop.DBus',
      }),
      methodCall(PING_SERIAL, { path: SERVICE_PATH, iface: 'org.freedesktop.DBus.Peer', member: 'Ping', destination: SECRETS }),
    ];
    if (lookup && crypto) {
      const open = new WireWriter().string(DH_ALGORITHM).signature('ay').bytes(crypto.publicKey).done();
      const search = new WireWriter().stringDict(lookup).done();
      calls.push(
        methodCall(SESSION_SERIAL, {
          path: SERVICE_PATH,
          iface: SERVICE_IFACE,
          member: 'OpenSession',
          destination: SECRETS,
          signature: 'sv',
          body: open,
        }),
        methodCall(SEARCH_SERIAL, {
          path: SERVICE_PATH,
          iface: SERVICE_IFACE,
          member: 'SearchItems',
          destination: SECRETS,
          signature: 'a{ss}',
          body: search,
        }),
      );
    }
    socket.write(Buffer.concat(calls));
    // A refused or closed connection fails fast in the library too, which then names the problem.
    socket.on('error', () => finish({}));
    socket.on('close', () => finish({}));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!authenticated) {
        const end = pending.indexOf('\r\n');
        if (end < 0) return;
        const line = pending.subarray(0, end).toString('latin1');
        pending = pending.subarray(end + 2);
        // REJECTED: libdbus may still get in with another mechanism.
        if (!line.startsWith('OK ')) return finish({});
        authenticated = true;
      }
      let parsed;
      try {
        parsed = readMessages(pending);
      } catch {
        return finish({});
      }
      pending = parsed.rest;
      for (const m of parsed.messages) {
        if (m.replySerial === HELLO_SERIAL) busAnswered = true;
        if (m.type === ERROR && m.replySerial === HELLO_SERIAL)
          return finish({ problem: `the D-Bus session bus refused the connection (${m.errorName})` });
        if (m.replySerial === PING_SERIAL) {
          if (m.type === ERROR) {
            const problem = pingFailure(m.errorName ?? '');
            if (problem || !lookup) return finish({ problem });
          } else if (m.type !== METHOD_RETURN) continue;
          if (!lookup) return finish({});
          continue;
        }
        if (!lookup || !crypto || (m.replySerial !== SESSION_SERIAL && m.replySerial !== SEARCH_SERIAL && m.replySerial !== SECRET_SERIAL))
          continue;
        // From here on the service is there; any surprise hands the read to the library.
        if (m.type !== METHOD_RETURN) return finish({});
        try {
          if (m.replySerial === SESSION_SERIAL) {
            const r = new WireReader(m);
            if (m.signature !== 'vo' || r.signature() !== 'ay') return finish({});
            serverKey = r.bytes();
            session = r.string();
          } else if (m.replySerial === SEARCH_SERIAL) {
            if (m.signature !== 'aoao') return finish({});
            const r = new WireReader(m);
            const unlocked = r.paths();
            const locked = r.paths();
            if (unlocked.length !== 1 || locked.length !== 0) return finish({});
            items = unlocked;
          } else {
            if (m.signature !== '(oayays)') return finish({});
            const r = new WireReader(m).struct();
            r.string();
            const iv = r.bytes();
            const value = r.bytes();
            return finish(decryptSecret ? { secret: decryptSecret(iv, value) } : {});
          }
        } catch {
          return finish({});
        }
        if (session && items && serverKey) {
          const body = new WireWriter().string(session).done();
          socket.write(
            methodCall(SECRET_SERIAL, {
              path: items[0]!,
              iface: 'org.freedesktop.Secret.Item',
              member: 'GetSecret',
              destination: SECRETS,
              signature: 'o',
              body,
            }),
          );
          items = undefined;
          // The shared key is worked out while the secret is on its way.
          try {
            decryptSecret = crypto.agree(serverKey);
          } catch {
            return finish({});
          }
        }
      }
    });
  });
}

const SERVICE_IFACE = 'org.freedesktop.Secret.Service';
const DH_ALGORITHM = 'dh-ietf1024-sha256-aes128-cbc-pkcs7';

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
