/** Shapes of secrets that may show up in diagnostics even when we did not hand them over. */
const PATTERNS: RegExp[] = [
  // JWTs (ID tokens, JWT access tokens)
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
  // token=… / code=… / code_verifier=… in query strings and form bodies
  /\b((?:access_|refresh_|id_)?token|code|code_verifier|client_secret|state|nonce|password)=([^&\s"']+)/gi,
  // Authorization headers
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g,
  // JSON fields holding tokens
  /"((?:access_|refresh_|id_)?token|code|code_verifier|client_secret)"\s*:\s*"[^"]*"/gi,
];

/** Replaces every known secret value and anything shaped like a token with `[REDACTED]`. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join('[REDACTED]');
  out = out.replace(PATTERNS[0]!, '[REDACTED]');
  out = out.replace(PATTERNS[1]!, (_m, k: string) => `${k}=[REDACTED]`);
  out = out.replace(PATTERNS[2]!, (_m, k: string) => `${k} [REDACTED]`);
  out = out.replace(PATTERNS[3]!, (_m, k: string) => `"${k}":"[REDACTED]"`);
  return out;
}
