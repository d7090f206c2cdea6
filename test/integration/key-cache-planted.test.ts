/**
 * The kernel key cache against another user who shares the session keyring (su or sudo -u without
 * pam_keyinit), for real: a second uid (useradd + setpriv) plants a `user` key under the cache's
 * name in that keyring before xtalk stores the data key. The planted key must never receive the
 * data key, and a planted key is never read as the cache.
 *
 * Everything runs in a child that `keyctl session -` gives a fresh session keyring of its own, so
 * the second user really shares it (a process without one falls back to its uid's user-session
 * keyring, which a setuid child does not share). The child is xtalk's side, loading dist/prebuilds/linux-<arch>/keyctl.node
 * (`npm run build`) as src/store/keys/keychain/kernel-cache/key-cache.ts does; the second user acts through Debian's `keyctl`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonFile, thisHost } from '../../src/store/keys/keychain/kernel-cache/keyctl-addon.js';
import { canActAsAnotherUser, secondUser, type SecondUser } from '../helpers/second-user.js';

const ADDON = addonFile(thisHost());
const KEYCTL = '/usr/bin/keyctl';

/**
 * Runs in the child (CommonJS), argv[1]: { addon, keyctl, uid, gid, description, dataKey, plant: { perm, payload } }
 * (keys and payloads in hex). Prints what each side saw, as JSON.
 */
const SCENARIO = `
const { execFileSync } = require('node:child_process');
const o = JSON.parse(process.argv[1]);
const m = { exports: {} };
process.dlopen(m, o.addon);
const cache = m.exports;
const attacker = (args, input) =>
  execFileSync('/usr/bin/setpriv', ['--reuid=' + o.uid, '--regid=' + o.gid, '--clear-groups', o.keyctl, ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
const own = (args) => {
  try { return execFileSync(o.keyctl, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; }
};
const out = {};
// The other user plants the key in the shared session keyring, and links it into their own user
// keyring too, so it outlives being pushed out of the session keyring and can be read afterwards.
const planted = attacker(['padd', 'user', o.description, '@s'], Buffer.from(o.plant.payload, 'hex')).toString().trim();
out.planted = planted;
try {
  attacker(['setperm', planted, o.plant.perm]);
  attacker(['link', planted, '@u']);
  out.plantedAs = own(['rdescribe', planted]);
  out.readBefore = cache.read(o.description)?.toString('hex') ?? null;
  out.stored = cache.store(o.description, Buffer.from(o.dataKey, 'hex'), 600);
  out.plantedPayload = attacker(['pipe', planted]).toString('hex');
  out.readAfter = cache.read(o.description)?.toString('hex') ?? null;
  out.found = own(['search', '@s', 'user', o.description]);
  out.foundAs = out.found && own(['rdescribe', out.found]);
  // The other user still holds the session keyring: they can neither read our copy nor overwrite it.
  const refused = (args, input) => { try { attacker(args, input); return false; } catch { return true; } };
  out.otherCannotRead = out.found ? refused(['pipe', out.found]) : null;
  out.otherCannotOverwrite = refused(['padd', 'user', o.description, '@s'], Buffer.from('overwritten'));
  out.readLast = cache.read(o.description)?.toString('hex') ?? null;
} finally {
  cache.forget(o.description);
  try { attacker(['invalidate', planted]); } catch {}
}
process.stdout.write(JSON.stringify(out));
`;

interface Outcome {
  planted: string;
  plantedAs: string | null;
  readBefore: string | null;
  stored: boolean;
  plantedPayload: string;
  readAfter: string | null;
  found: string | null;
  foundAs: string | null;
  otherCannotRead: boolean | null;
  otherCannotOverwrite: boolean;
  readLast: string | null;
}

// Under CI (.ci/run installs keyutils) a missing keyctl fails the run instead of skipping it.
const ready = canActAsAnotherUser && (existsSync(KEYCTL) || process.env.CI === 'true');

describe.runIf(ready)('the key cache against a key planted by another user sharing the session keyring', () => {
  let other: SecondUser;
  beforeAll(() => {
    other = secondUser('xtalkh1');
  });
  afterAll(() => other?.remove());

  function scenario(plant: { perm: string; payload: Buffer }, dataKey: Buffer): Promise<Outcome> {
    const description = `xtalk:data-key:/planted-test/${randomBytes(6).toString('hex')}/xtalk.db`;
    const args = JSON.stringify({
      addon: ADDON,
      keyctl: KEYCTL,
      uid: other.uid,
      gid: other.gid,
      description,
      dataKey: dataKey.toString('hex'),
      plant: { perm: plant.perm, payload: plant.payload.toString('hex') },
    });
    return new Promise((resolve, reject) =>
      execFile(KEYCTL, ['session', '-', process.execPath, '-e', SCENARIO, args], { cwd: '/', encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Outcome),
      ),
    );
  }

  it('a key writable by us but not readable (write-only for others) never receives the data key; ours replaces it in the keyring', async () => {
    const dataKey = randomBytes(32);
    // Possessor and others: view and write; the planting user, as owner, everything.
    const out = await scenario({ perm: '0x053f0005', payload: Buffer.from('planted') }, dataKey);
    // The planted key is there, in the keyring xtalk uses, and belongs to the other user.
    expect(out.plantedAs).toMatch(new RegExp(`^user;${other.uid};${other.gid};053f0005;xtalk:data-key:`));
    expect(out.readBefore).toBeNull();
    expect(out.plantedPayload, 'what the other user reads from the planted key').toBe(Buffer.from('planted').toString('hex'));
    expect(out.stored).toBe(true);
    expect(out.readAfter).toBe(dataKey.toString('hex'));
    expect(out.found).not.toBe(out.planted);
    expect(out.foundAs).toMatch(/^user;0;0;003f0000;xtalk:data-key:/);
    expect(out.otherCannotRead).toBe(true);
    expect(out.otherCannotOverwrite).toBe(true);
    expect(out.readLast).toBe(dataKey.toString('hex'));
  });

  it('a key readable by us with a payload of the other user’s choosing is not taken as the cache', async () => {
    const chosen = randomBytes(32);
    // Possessor: everything; the planting user, as owner, everything.
    const out = await scenario({ perm: '0x3f3f0000', payload: chosen }, randomBytes(32));
    expect(out.plantedAs).toMatch(new RegExp(`^user;${other.uid};`));
    expect(out.readBefore, 'the planted payload read as the cache').toBeNull();
    expect(out.plantedPayload).toBe(chosen.toString('hex'));
    expect(out.stored).toBe(true);
    expect(out.readAfter).not.toBe(chosen.toString('hex'));
    expect(out.foundAs).toMatch(/^user;0;0;003f0000;/);
  });
});
