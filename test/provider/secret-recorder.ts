import type { TestProvider } from './provider.js';

/** Which kind of secret a recorded value is. */
export type SecretKind =
  | 'access_token'
  | 'refresh_token'
  | 'id_token'
  | 'id_token_signature'
  | 'code'
  | 'code_verifier'
  | 'state'
  | 'nonce';

export interface RecordedSecret {
  kind: SecretKind;
  value: string;
}

/** Every secret the provider saw or issued, in order, without duplicates. */
export interface SecretRecorder {
  secrets: RecordedSecret[];
  values(kind?: SecretKind): string[];
}

interface EventContext {
  body?: unknown;
  oidc?: { params?: Record<string, unknown> };
}

/**
 * Records, at the provider, the values a leak test searches for: every authorization code and its
 * PKCE verifier, every state and nonce, and every access, refresh and ID token issued. Uses the
 * provider's events: middleware added after start-up would never run.
 */
export function recordSecrets(provider: TestProvider): SecretRecorder {
  const secrets: RecordedSecret[] = [];
  const seen = new Set<string>();
  const add = (kind: SecretKind, value: unknown) => {
    if (typeof value !== 'string' || value.length < 8 || seen.has(value)) return;
    seen.add(value);
    secrets.push({ kind, value });
  };
  const fromParams = (ctx: EventContext) => {
    const params = ctx.oidc?.params ?? {};
    add('state', params.state);
    add('nonce', params.nonce);
    add('code', params.code);
    add('code_verifier', params.code_verifier);
    add('refresh_token', params.refresh_token);
  };
  const on = provider.provider.on.bind(provider.provider);
  on('authorization.success', fromParams);
  on('grant.error', fromParams);
  on('authorization_code.saved', (code: { jti?: string }) => add('code', code.jti));
  on('grant.success', (ctx: EventContext) => {
    fromParams(ctx);
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    add('access_token', body.access_token);
    add('refresh_token', body.refresh_token);
    add('id_token', body.id_token);
    if (typeof body.id_token === 'string') add('id_token_signature', body.id_token.split('.')[2]);
  });
  return {
    secrets,
    values: (kind) => secrets.filter((s) => kind === undefined || s.kind === kind).map((s) => s.value),
  };
}
