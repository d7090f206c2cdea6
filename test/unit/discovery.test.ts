import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { discoveryUrlFor, fetchDiscovery } from '../../src/oidc/discovery.js';

/** A fetch answering from a table of URL → response maker; records every URL asked. */
function fakeFetch(routes: Record<string, () => Response>) {
  const asked: string[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    asked.push(url);
    expect(init?.redirect).toBe('manual');
    const route = routes[url];
    return route ? route() : new Response('', { status: 404 });
  }) as typeof fetch;
  return { f, asked };
}
const json = (body: object) => () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const redirect =
  (location: string, status = 301) =>
  () =>
    new Response(null, { status, headers: { location } });

describe('discoveryUrlFor', () => {
  it('drops one final slash of the issuer before the well-known path, and keeps a given URL', () => {
    expect(discoveryUrlFor('https://t.example/')).toBe('https://t.example/.well-known/openid-configuration');
    expect(discoveryUrlFor('https://i.example/oidc/')).toBe('https://i.example/oidc/.well-known/openid-configuration');
    expect(discoveryUrlFor('https://i.example/o', 'https://i.example/o/.well-known/openid-configuration/')).toBe(
      'https://i.example/o/.well-known/openid-configuration/',
    );
  });
});

describe('fetchDiscovery', () => {
  const issuer = 'https://idp.example/o';
  const doc = { issuer, authorization_endpoint: `${issuer}/authorize/` };

  it('follows same-origin redirects (relative Location too) up to 3 hops and reports them', async () => {
    const { f, asked } = fakeFetch({
      [`${issuer}/.well-known/openid-configuration`]: redirect('/o/.well-known/openid-configuration/'),
      [`${issuer}/.well-known/openid-configuration/`]: json(doc),
    });
    const got = await fetchDiscovery({ issuer, fetch: f, timeoutMs: 1000 });
    expect(got.metadata).toEqual(doc);
    expect(got.url).toBe(`${issuer}/.well-known/openid-configuration/`);
    expect(got.redirects).toEqual([{ from: asked[0], to: asked[1], status: 301 }]);
  });

  it('refuses a redirect to another scheme, host or port, naming the Location', async () => {
    for (const location of ['http://idp.example/o/x', 'https://evil.example/o/x', 'https://idp.example:8443/o/x']) {
      const { f, asked } = fakeFetch({ [`${issuer}/.well-known/openid-configuration`]: redirect(location, 302) });
      const err = await fetchDiscovery({ issuer, fetch: f, timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toContain(`to another origin: Location "${location}"`);
      expect(err).toMatchObject({ code: 'DISCOVERY_FAILED', facts: { reason: 'other_origin' } });
      expect((err as ProviderError).hint).toMatch(/set XTALK_ISSUER/);
      expect(asked).toHaveLength(1);
    }
  });

  it('requires the document to name the configured issuer byte for byte, wherever it was served', async () => {
    const { f } = fakeFetch({ [`${issuer}/.well-known/openid-configuration`]: json({ ...doc, issuer: `${issuer}/` }) });
    await expect(fetchDiscovery({ issuer, fetch: f, timeoutMs: 1000 })).rejects.toThrow(`names the issuer "${issuer}/", not "${issuer}"`);
    const given = fakeFetch({ 'https://idp.example/conf.json': json({ ...doc, issuer: 'https://other.example' }) });
    const err = (await fetchDiscovery({ issuer, discoveryUrl: 'https://idp.example/conf.json', fetch: given.f, timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    )) as ProviderError;
    expect(err).toMatchObject({ code: 'DISCOVERY_FAILED', facts: { reason: 'other_issuer' } });
    expect(err.hint).toMatch(/describes another provider/);
  });

  it('fetches a given discovery URL verbatim, and names it on a 404', async () => {
    const url = `${issuer}/.well-known/openid-configuration/`;
    const { f, asked } = fakeFetch({ [url]: json(doc) });
    await fetchDiscovery({ issuer, discoveryUrl: url, fetch: f, timeoutMs: 1000 });
    expect(asked).toEqual([url]);
    const missing = await fetchDiscovery({ issuer, discoveryUrl: `${url}x`, fetch: f, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((missing as ProviderError).message).toBe(`No discovery document at ${url}x: HTTP 404.`);
  });
});
