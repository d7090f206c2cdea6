import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { callApi } from '../auth/api-request.js';
import type { Run } from '../auth/run.js';
import { selectAccount } from '../auth/select-account.js';
import { addCommonOptions, openCommandRun, type CommonOptions } from './command-env.js';
import type { Context } from '../core/context.js';
import { parseOrigin } from '../core/bearer-destination.js';
import { ExitCode, NetworkError, UsageError } from '../errors.js';
import type { ApiBody, ApiHttpRequest } from '../net/api-http.js';
import type { Ui } from '../output/ui.js';
import { joinBelow } from '../shared/url-rules.js';

export interface ApiOptions extends CommonOptions {
  method?: string;
  header?: string[];
  data?: string;
  include?: boolean;
  allowOrigin?: string[];
}

export function registerApi(program: Command, ctx: Context): void {
  const cmd = program
    .command('api')
    .description('Make an authenticated HTTP request to an API with the access token (the token stays out of argv).')
    .argument('<url>', 'https URL, or a path relative to XTALK_API_URL / api_url')
    .option('-X, --method <method>', 'HTTP method (default GET, or POST with --data)')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .option('-d, --data <data>', 'request body: a string, @file, or @- for stdin (sent as is; Content-Type defaults to application/json)')
    .option('-i, --include', 'print the response status and headers on stderr')
    .option(
      '--allow-origin <origin>',
      'also send the token to this origin, e.g. https://other.example (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    );
  addCommonOptions(cmd);
  cmd.addHelpText(
    'after',
    `
The response body goes to stdout as received (JSON is pretty-printed when stdout is a terminal).
Exit 0 for 2xx and 3xx, 1 for 4xx and 5xx, 4 when you need to log in. On 401 invalid_token the
session is refreshed once and the request sent once more (not for a body read from stdin). Redirects
are followed only within the URL's origin; the token is never sent anywhere else.

The token goes only to the API origin (XTALK_API_URL / api_url), the issuer's origin, or an origin
named with --allow-origin; over https:, or http: to this machine (never through a proxy), or plain
http: to another host only when insecure_http_origins lists that origin. Anything else exits 2.

Examples:
  $ xtalk api https://iottalk.example/api/devices
  $ XTALK_API_URL=https://iottalk.example/api xtalk api devices | jq '.[].name'
  $ xtalk api devices --method POST --data @device.json
  $ echo '{"name":"lamp"}' | xtalk api devices --data @- -H 'X-Request-Id: 42'
  $ xtalk api devices/7 -X DELETE --include
  $ xtalk api --allow-origin https://files.iottalk.example https://files.iottalk.example/v1/list`,
  );
  cmd.action((url: string, opts: ApiOptions) => runApi(ctx, url, opts));
}

/** Sends the request and writes the body to stdout; resolves to the exit code (0 for < 400, else 1). */
export async function runApi(ctx: Context, target: string, opts: ApiOptions): Promise<number> {
  const run = openCommandRun(ctx, opts);
  try {
    const url = resolveApiUrl(target, run.config().apiUrl);
    const namedOrigins = (opts.allowOrigin ?? []).map(checkOrigin);
    const body = readBody(ctx, run, opts.data);
    const method = (opts.method ?? (body.kind === 'none' ? 'GET' : 'POST')).toUpperCase();
    if (!/^[A-Z][A-Z-]*$/.test(method)) throw new UsageError('USAGE', `"${opts.method}" is not an HTTP method.`);
    if (body.kind !== 'none' && (method === 'GET' || method === 'HEAD'))
      throw new UsageError('USAGE', `A ${method} request cannot carry --data.`, { facts: { reason: 'body_without_method' } });
    const headers = (opts.header ?? []).map(parseHeader);
    if (body.kind !== 'none' && !headers.some(([k]) => k.toLowerCase() === 'content-type'))
      headers.push(['Content-Type', 'application/json']);
    const store = run.store();
    const account = selectAccount(store, opts.account);
    const policy = {
      apiUrl: run.config().apiUrl,
      issuer: account.issuer,
      namedOrigins,
      insecureHttpOrigins: run.config().insecureHttpOrigins,
    };
    const request: ApiHttpRequest = { url, method, headers, body, policy };
    // Loaded here, as for provider calls: no other command pays for the proxy support.
    const { createBearerFetch } = await import('../net/proxy-fetch.js');
    const fetchImpl = createBearerFetch(ctx.env);
    const res = await callApi(run, { account, request, fetch: fetchImpl, signal: ctx.signal });
    if (opts.include) {
      run.ui.info(`HTTP ${res.status} ${res.statusText}`.trimEnd());
      for (const [k, v] of res.headers) run.ui.info(`${k}: ${v}`);
      run.ui.info('');
    }
    await writeBody(run.ui, res);
    if (res.status >= 400) {
      run.ui.error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} from ${method} ${url.href}`);
      return ExitCode.Error;
    }
    return ExitCode.Ok;
  } finally {
    run.close();
  }
}

/** An absolute URL as given; anything else is a path below the configured API base URL. */
export function resolveApiUrl(target: string, base: string | undefined): URL {
  if (/^[a-z][a-z\d+.-]*:/i.test(target)) {
    try {
      return new URL(target);
    } catch {
      throw new UsageError('USAGE', `"${target}" is not a URL.`);
    }
  }
  if (!base) {
    throw new UsageError('USAGE', `"${target}" is a relative path, but no API base URL is configured.`, {
      facts: { reason: 'relative_url_without_base' },
    });
  }
  return joinBelow(base, target);
}

function checkOrigin(raw: string): string {
  const origin = parseOrigin(raw);
  if (!origin) throw new UsageError('USAGE', `--allow-origin takes an origin like https://api.example, not "${raw}".`);
  return origin;
}

function readBody(ctx: Context, run: Pick<Run, 'readFile'>, data: string | undefined): ApiBody {
  if (data === undefined) return { kind: 'none' };
  if (data === '@-') return { kind: 'stream', stream: ctx.io.stdin as Readable };
  if (data.startsWith('@')) {
    const file = data.slice(1);
    try {
      return { kind: 'bytes', data: run.readFile(file) };
    } catch (e) {
      throw new UsageError(
        'USAGE',
        `Cannot read the request body from ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
      );
    }
  }
  return { kind: 'bytes', data: Buffer.from(data, 'utf8') };
}

function parseHeader(raw: string): [string, string] {
  const colon = raw.indexOf(':');
  const name = colon > 0 ? raw.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+.^_`|~\w-]+$/.test(name)) throw new UsageError('USAGE', `"${raw}" is not a header; write it as 'Name: value'.`);
  if (name.toLowerCase() === 'authorization') {
    throw new UsageError('USAGE', 'xtalk api sends the Authorization header itself.', { facts: { reason: 'authorization_header' } });
  }
  const value = raw.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new UsageError('USAGE', `The value of header ${name} contains a line break.`);
  return [name, value];
}

/** The body through the terminal owner: the server's bytes to a pipe, safe text to a terminal. */
async function writeBody(ui: Ui, res: Response): Promise<void> {
  if (!res.body) return;
  try {
    await ui.body(res.body, { json: /json/i.test(res.headers.get('content-type') ?? '') });
  } catch (e) {
    // `xtalk api … | head` closes the pipe early: not an error of the request.
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
    throw new NetworkError(
      'NETWORK_ERROR',
      `The answer from ${new URL(res.url || 'http://unknown').origin} broke off: ${(e as Error).message}`,
      {
        facts: { reason: 'answer_broke_off' },
        cause: e,
      },
    );
  }
}
