import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the fake provider answers its discovery document. */
export type BadDiscovery =
  /** An HTML page with status 200, as a captive portal or a wrong URL gives. */
  | 'html'
  /** Claims JSON, sends HTML. */
  | 'html-as-json'
  /** A valid discovery document padded to `hugeBytes`, streamed without Content-Length. */
  | 'huge'
  /** The same with its Content-Length announced up front. */
  | 'huge-with-length'
  /** Accepts the connection and never answers. */
  | 'hang'
  /** Sends the headers and the first bytes of the body, then nothing more. */
  | 'stall-body'
  /** A well-formed document whose authorization endpoint is `authorizationEndpoint`. */
  | 'endpoint';

export interface BadProvider {
  issuer: string;
  /** Requests received, by path. */
  requests: string[];
  /** Body bytes the client actually took before it went away. */
  bytesSent(): number;
  stop(): Promise<void>;
}

const CHUNK = 64 * 1024;

/** A provider on 127.0.0.1 whose discovery document is broken in one way. */
export async function startBadProvider(
  mode: BadDiscovery,
  opts: { hugeBytes?: number; authorizationEndpoint?: string } = {},
): Promise<BadProvider> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let sent = 0;
  let issuer = '';
  const hugeBytes = opts.hugeBytes ?? 50 * 1024 * 1024;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    const write = (chunk: string): boolean => {
      sent += Buffer.byteLength(chunk);
      return res.write(chunk);
    };
    switch (mode) {
      case 'html':
      case 'html-as-json': {
        const body = '<!doctype html><html><head><title>Welcome</title></head><body><h1>Sign in to the Wi-Fi</h1></body></html>';
        res.writeHead(200, { 'content-type': mode === 'html' ? 'text/html; charset=utf-8' : 'application/json' });
        write(body);
        res.end();
        return;
      }
      case 'huge':
      case 'huge-with-length': {
        const head = JSON.stringify(discoveryDocument(issuer)).slice(0, -1) + ',"x_padding":"';
        const tail = '"}';
        const padding = hugeBytes - head.length - tail.length;
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(mode === 'huge-with-length' ? { 'content-length': String(hugeBytes) } : {}),
        });
        write(head);
        let left = padding;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(CHUNK, left);
            left -= n;
            if (!write('a'.repeat(n))) {
              res.once('drain', pump);
              return;
            }
          }
          write(tail);
          res.end();
        };
        res.on('close', () => (left = 0));
        pump();
        return;
      }
      case 'hang':
        return;
      case 'endpoint':
        res.writeHead(200, { 'content-type': 'application/json' });
        write(JSON.stringify({ ...discoveryDocument(issuer), authorization_endpoint: opts.authorizationEndpoint }));
        res.end();
        return;
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        write('{"issuer":');
        return;
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    requests,
    bytesSent: () => sent,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
  };
}
