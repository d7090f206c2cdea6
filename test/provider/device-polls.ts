/** Scripted answers for the device-code token requests of the test provider (slow_down, denial …). */

export type ScriptedDeviceAnswer = 'slow_down' | 'access_denied' | 'expired_token' | 'authorization_pending';

export interface DevicePollRecord {
  /** Epoch ms the request arrived. */
  at: number;
  /** What the client got: a scripted or real error code, or `tokens`. */
  answer: string;
}

interface TokenRequestContext {
  path: string;
  status: number;
  body: unknown;
  oidc?: { params?: Record<string, unknown> };
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * A Koa middleware recording every device-code token request; while `script` has entries, each
 * request the provider would answer with an error (authorization_pending) gets the next scripted
 * error instead. A request the provider answers with tokens is never replaced: the device code is
 * spent by then.
 */
export function scriptDevicePolls(script: readonly ScriptedDeviceAnswer[], log: DevicePollRecord[]) {
  const pending = [...script];
  return async (ctx: TokenRequestContext, next: () => Promise<void>): Promise<void> => {
    const at = Date.now();
    await next();
    if (ctx.path !== '/token' || ctx.oidc?.params?.grant_type !== DEVICE_CODE_GRANT) return;
    const real = ctx.status === 200 ? 'tokens' : String((ctx.body as { error?: unknown } | undefined)?.error ?? ctx.status);
    const scripted = real === 'tokens' ? undefined : pending.shift();
    if (scripted) {
      ctx.status = 400;
      ctx.body = { error: scripted, error_description: `scripted ${scripted}` };
    }
    log.push({ at, answer: scripted ?? real });
  };
}
