import { describe, expect, it } from 'vitest';
import { allowsBothSecretMethods, detectingFetch, startDetection, type AuthDetection } from '../../src/oidc/auth-detection.js';
import { basicAuthorization } from '../../src/oidc/client-auth.js';
import type { SecretAuthMethod } from '../../src/core/oauth-terms.js';

const client = { clientId: 'cli', secret: 'a+b/c=' };
const TOKEN = 'https://op.example/token';
const basicInit = (): RequestInit => ({
  method: 'POST',
  headers: { authorization: basicAuthorization(client.clientId, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'RT' }),
});

function setup(answers: Response[], remember: (m: SecretAuthMethod) => void = () => {}) {
  const sent: { url: string; authorization: string | null; body: string }[] = [];
  const inner = (async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization'), body: String(init?.body) });
    return answers.shift()!;
  }) as typeof fetch;
  const state: AuthDetection = { method: 'client_secret_basic', detecting: true, tried: [] };
  const remembered: SecretAuthMethod[] = [];
  const memory = { learned: () => undefined, remember: (m: SecretAuthMethod) => (remembered.push(m), remember(m)) };
  return { fetch: detectingFetch(inner, state, client, memory), sent, state, remembered };
}

const json = (status: number, body: object, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('detectingFetch', () => {
  it('after invalid_client sends the same request to the same URL once more with the credentials in the body, and adopts it', async () => {
    const t = setup([json(400, { error: 'invalid_client' }), json(200, { access_token: 'AT' })]);
    const res = await t.fetch(TOKEN, basicInit());
    expect(await res.json()).toEqual({ access_token: 'AT' });
    expect(t.sent.map((s) => s.url)).toEqual([TOKEN, TOKEN]);
    expect(t.sent[1]!.authorization).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(t.sent[1]!.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'RT',
      client_id: 'cli',
      client_secret: 'a+b/c=',
    });
    expect(t.state).toMatchObject({ method: 'client_secret_post', detecting: false });
    expect(t.remembered).toEqual(['client_secret_post']);
  });

  it('a 401 with a Basic challenge counts as a refused client; a refused retry is passed on with its body and nothing is adopted', async () => {
    const challenge = { 'www-authenticate': 'Basic realm="op"' };
    const t = setup([json(401, { error: 'invalid_client' }, challenge), json(401, { error: 'invalid_client' }, challenge)]);
    const res = await t.fetch(TOKEN, basicInit());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="op"');
    expect(await res.json()).toEqual({ error: 'invalid_client' });
    expect(t.sent).toHaveLength(2);
    expect(t.state).toMatchObject({ method: 'client_secret_basic', detecting: true, tried: ['client_secret_basic', 'client_secret_post'] });
    expect(t.remembered).toEqual([]);
  });

  it('answers that do not refuse the client are passed on without a retry', async () => {
    const t = setup([json(400, { error: 'invalid_grant' }), json(503, {})]);
    expect((await (await t.fetch(TOKEN, basicInit())).json()).error).toBe('invalid_grant');
    expect((await t.fetch(TOKEN, basicInit())).status).toBe(503);
    expect(t.sent).toHaveLength(2);
    expect(t.state.detecting).toBe(true);
  });

  it("requests without this client's Basic credentials are never retried", async () => {
    const t = setup([json(401, {}), json(401, {})]);
    await t.fetch(TOKEN, { ...basicInit(), headers: { authorization: 'Bearer AT' } });
    await t.fetch('https://op.example/userinfo', { method: 'GET' });
    expect(t.sent).toHaveLength(2);
  });

  it('a store that cannot remember does not cost the answer', async () => {
    const t = setup([json(400, { error: 'invalid_client' }), json(200, { refresh_token: 'RT-2' })], () => {
      throw new Error('disk full');
    });
    expect(await (await t.fetch(TOKEN, basicInit())).json()).toEqual({ refresh_token: 'RT-2' });
    expect(t.state.method).toBe('client_secret_post');
  });
});

describe('when detection applies', () => {
  it('discovery listing both methods, or none at all, allows it; a list without the body does not', () => {
    expect(allowsBothSecretMethods(undefined)).toBe(true);
    expect(allowsBothSecretMethods(['client_secret_basic', 'client_secret_post', 'none'])).toBe(true);
    expect(allowsBothSecretMethods(['client_secret_basic', 'none'])).toBe(false);
  });

  it('a remembered method is used directly, without detection, only where discovery allows both', () => {
    const memory = { learned: () => 'client_secret_post' as const, remember: () => {} };
    expect(startDetection(memory, true)).toEqual({ method: 'client_secret_post', detecting: false, tried: [] });
    expect(startDetection(memory, false)).toEqual({ method: 'client_secret_basic', detecting: false, tried: [] });
    expect(startDetection(undefined, true)).toEqual({ method: 'client_secret_basic', detecting: true, tried: [] });
  });
});
