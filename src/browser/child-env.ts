/**
 * Which environment variables xtalk keeps from the processes it starts. One rule for every child:
 * xtalk's own secrets never leave it; a browser (which needs no credential at all) also loses
 * anything else that looks like one. Child processes leak their environment (ps e, /proc, crash
 * reports), and a child of `xtalk exec` is the user's own program, not xtalk.
 */

// The names xtalk reads a client secret from.
const CLIENT_SECRET_NAMES = new Set(['XTALK_CLIENT_SECRET', 'OAUTH2_CLIENT_SECRET']);
// xtalk's namespaces: XTALK_* settings and the X-Talk names it also reads.
const XTALK_NAMESPACE = /^(XTALK|OAUTH2)_/i;
const CREDENTIAL_LOOKING = /SECRET|TOKEN|PASSWORD/i;
// Settings whose names only mention tokens.
const NOT_SECRETS = new Set(['XTALK_TOKEN_AUTH_METHOD']);
// One-shot token the desktop hands to a launched app so its window may take focus (Wayland).
const LAUNCH_TOKENS = new Set(['XDG_ACTIVATION_TOKEN']);

/** True for the client secret and every credential-looking XTALK_* / OAUTH2_* variable (e.g. a parent exec's token). */
export function isXtalkSecret(name: string): boolean {
  if (CLIENT_SECRET_NAMES.has(name.toUpperCase())) return true;
  return XTALK_NAMESPACE.test(name) && CREDENTIAL_LOOKING.test(name) && !NOT_SECRETS.has(name.toUpperCase());
}

/** A copy of env without xtalk's own secrets: what `xtalk exec` gives the command (before adding the token). */
export function withoutXtalkSecrets(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isXtalkSecret(name)) out[name] = value;
  }
  return out;
}

/** A copy of env without xtalk's secrets or anything whose name looks like a credential: what a browser gets. */
export function scrubEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(withoutXtalkSecrets(env))) {
    if (CREDENTIAL_LOOKING.test(name) && !LAUNCH_TOKENS.has(name)) continue;
    out[name] = value;
  }
  return out;
}
