import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProviderClient } from '../../src/oidc/client.js';
import { providerTransport } from '../fakes/context.js';

// The provider's keys fetched ahead of a grant (prefetchKeys) follow openid-client's rules for the
// keys endpoint, so what is cached is what openid-client itself would have accepted: no redirect.

const seen: string[] = [];
let server: Server;
let issuer: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'] }),
      );
    } else if (req.url === '/jwks') {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('a keys endpoint that redirects is not followed ahead of the grant: nothing cached, the redirect target never asked', async () => {
  const client = await ProviderClient.discover({ issuer, clientId: 'c', fetch: providerTransport });
  expect(await client.prefetchKeys()).toBe(false);
  expect(seen).toEqual(['/.well-known/openid-configuration', '/jwks']);
});
