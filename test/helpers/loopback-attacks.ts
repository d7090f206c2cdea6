import type { Rng } from './prng.js';

/**
 * Generated hostile requests for the loopback listener of a pending login. None of them is a
 * genuine callback (right path, GET, right Host, exactly one right `state`): each carries at least
 * one defect, and says which answers the listener may give.
 */
export type AttackKind =
  | 'random-path'
  | 'random-method'
  | 'missing-state'
  | 'duplicate-state'
  | 'wrong-state'
  | 'error-without-state'
  | 'wrong-host'
  | 'huge-query'
  | 'long-url'
  | 'malformed'
  | 'absolute-form';

export type AttackRequest = { via: 'http'; method: string; path: string; host: string } | { via: 'raw'; bytes: string; head?: boolean };

export interface Attack {
  kind: AttackKind;
  request: AttackRequest;
  /** Statuses the listener may answer with. */
  expect: readonly number[];
}

export interface AttackTarget {
  port: number;
  /** The real `state` of the pending login. */
  state: string;
}

/** What the listener's page says for each refusal: the reason, not just the status. */
export const REASONS: Record<number, RegExp> = {
  400: /does not belong to the sign-in|could not be processed/,
  404: /Nothing here/,
  405: /Only GET is accepted|Method Not Allowed/,
  408: /Request Timeout/,
  414: /request URL is too long/,
  421: /only answers requests for its own address/,
  431: /Request Header Fields Too Large/,
};

const WEIGHTS: Array<[AttackKind, number]> = [
  ['random-path', 12],
  ['random-method', 12],
  ['missing-state', 8],
  ['duplicate-state', 8],
  ['wrong-state', 12],
  ['error-without-state', 8],
  ['wrong-host', 15],
  ['huge-query', 5],
  ['long-url', 5],
  ['malformed', 11],
  ['absolute-form', 4],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

export function generateAttack(rng: Rng, target: AttackTarget): Attack {
  let roll = rng.int(0, TOTAL_WEIGHT - 1);
  for (const [kind, weight] of WEIGHTS) {
    if (roll < weight) return GENERATORS[kind](rng, target);
    roll -= weight;
  }
  throw new Error('unreachable');
}

/** A short printable form for failure messages. */
export function describeAttack(attack: Attack): string {
  const r = attack.request;
  const text = r.via === 'http' ? `${r.method} ${r.path} Host: ${JSON.stringify(r.host)}` : JSON.stringify(r.bytes);
  return `${attack.kind} via ${r.via}: ${text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text}`;
}

type Generator = (rng: Rng, t: AttackTarget) => Attack;

const goodHost = (t: AttackTarget): string => `127.0.0.1:${t.port}`;
const code = (rng: Rng): string => `code=${rng.string(rng.int(1, 64))}`;
const iss = (rng: Rng): string => `iss=${encodeURIComponent(`http://127.0.0.1:${rng.int(1, 65535)}`)}`;

/** Joins query parts in random order. */
function query(rng: Rng, parts: string[]): string {
  const shuffled = [...parts];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.join('&');
}

const get = (t: AttackTarget, path: string, kind: AttackKind, expect: number[]): Attack => ({
  kind,
  request: { via: 'http', method: 'GET', path, host: goodHost(t) },
  expect,
});

const PATH_SEGMENTS = [
  'callback',
  'Callback',
  'CALLBACK',
  'callback.html',
  'favicon.ico',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  'callback%2F',
  '%63allback',
  'callback%3Fstate%3D',
  'login',
  'oauth2',
  'admin',
  '',
  'api',
  '~root',
  '%00',
  '%ff',
  '%E2%80%AE',
  'callback;jsessionid=1',
  'robots.txt',
  '.well-known',
  'callback%20',
];

const randomPath: Generator = (rng, t) => {
  const segments = Array.from({ length: rng.int(1, 4) }, () => (rng.bool(0.2) ? rng.string(rng.int(1, 12)) : rng.pick(PATH_SEGMENTS)));
  let path = (rng.bool(0.1) ? '//' : '/') + segments.join('/');
  if (path === '/callback') path += rng.pick(['/', '.', '%2F', '/.']);
  const q = rng.pick(['', '?', `?${code(rng)}&state=${t.state}`, `?state=${t.state}`, `?${rng.string(5)}=${rng.string(5)}`]);
  return get(t, path + q, 'random-path', [404]);
};

const COMMON_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'HEAD'];
const EXOTIC_METHODS = [
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'PURGE',
  'REPORT',
  'MKACTIVITY',
  'CHECKOUT',
  'MERGE',
  'NOTIFY',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'LINK',
  'UNLINK',
  'QUERY',
  'ACL',
  'BIND',
  'MKCALENDAR',
  'M-SEARCH',
];

const randomMethod: Generator = (rng, t) => {
  const path = `/callback?${query(rng, [code(rng), `state=${t.state}`, iss(rng)])}`;
  const roll = rng.int(0, 9);
  if (roll < 5)
    return { kind: 'random-method', request: { via: 'http', method: rng.pick(COMMON_METHODS), path, host: goodHost(t) }, expect: [405] };
  if (roll < 7)
    return {
      kind: 'random-method',
      request: { via: 'http', method: rng.pick(EXOTIC_METHODS), path, host: goodHost(t) },
      expect: [405, 400],
    };
  if (roll < 8) {
    const target = rng.pick([`127.0.0.1:${t.port}`, 'evil.example:443', path]);
    return {
      kind: 'random-method',
      request: { via: 'raw', bytes: `CONNECT ${target} HTTP/1.1\r\nHost: ${goodHost(t)}\r\n\r\n` },
      expect: [405],
    };
  }
  // Tokens the HTTP parser does not know, lower-case GET, or a method with a stray character.
  let method = rng.pick([
    'get',
    'Get',
    'GETT',
    'G3T',
    'GE T',
    'GET\x00',
    rng.string(rng.int(1, 10), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
    rng.string(rng.int(1, 6), '!#$%&*+-.^_`|~'),
  ]);
  if (method === 'GET') method = 'GETS';
  return {
    kind: 'random-method',
    request: { via: 'raw', bytes: `${method} ${path} HTTP/1.1\r\nHost: ${goodHost(t)}\r\n\r\n` },
    expect: [400, 405, 404],
  };
};

const missingState: Generator = (rng, t) => {
  const lookalike = rng.pick(['State', 'STATE', 'state[]', 'state_', 'xstate', '%20state', 'stat', 'sta%00te', '']);
  const parts = [code(rng)];
  if (rng.bool()) parts.push(iss(rng));
  if (rng.bool()) parts.push(`session_state=${rng.string(20)}`);
  if (lookalike) parts.push(`${lookalike}=${t.state}`);
  return get(t, `/callback${rng.bool(0.9) ? `?${query(rng, parts)}` : ''}`, 'missing-state', [400]);
};

const duplicateState: Generator = (rng, t) => {
  const other = rng.pick(['', rng.string(43), t.state.slice(1)]);
  const states = rng.pick([
    [t.state, t.state],
    [t.state, other],
    [other, t.state],
    [t.state, t.state, t.state],
    Array.from({ length: rng.int(2, 50) }, () => t.state),
  ]);
  return get(t, `/callback?${query(rng, [code(rng), iss(rng), ...states.map((s) => `state=${s}`)])}`, 'duplicate-state', [400]);
};

/** A state value that, once decoded, differs from the real one. */
function wrongState(rng: Rng, real: string): string {
  for (;;) {
    const i = rng.int(0, real.length - 1);
    const candidate = rng.pick([
      real.slice(0, i) + rng.string(1) + real.slice(i + 1),
      real + rng.string(rng.int(1, 8)),
      real.slice(0, real.length - rng.int(1, real.length)),
      rng.string(rng.int(1, 4)) + real,
      real.toUpperCase(),
      '',
      rng.string(real.length),
      `${real}%00`,
      `${real}+`,
      `${real}%zz`,
      `${real}%C3%A9`,
      `%20${real}`,
      encodeURIComponent(`${real} `),
    ]);
    if (new URLSearchParams(`state=${candidate}`).get('state') !== real) return candidate;
  }
}

const wrongStateAttack: Generator = (rng, t) => {
  const parts = [`state=${wrongState(rng, t.state)}`];
  if (rng.bool(0.9)) parts.push(code(rng));
  if (rng.bool()) parts.push(iss(rng));
  return get(t, `/callback?${query(rng, parts)}`, 'wrong-state', [400]);
};

const errorWithoutState: Generator = (rng, t) => {
  const parts = [
    `error=${rng.pick(['access_denied', 'server_error', 'invalid_request', 'login_required', 'temporarily_unavailable', rng.string(12)])}`,
  ];
  if (rng.bool(0.7))
    parts.push(
      `error_description=${encodeURIComponent(rng.pick(['<script>alert(1)</script>', 'denied', rng.string(40, 'abc <>"\'&;%')]))}`,
    );
  if (rng.bool(0.3)) parts.push(`error_uri=${encodeURIComponent('https://evil.example/x')}`);
  if (rng.bool()) parts.push(iss(rng));
  if (rng.bool(0.2)) parts.push(`state=${wrongState(rng, t.state)}`);
  return get(t, `/callback?${query(rng, parts)}`, 'error-without-state', [400]);
};

const wrongHost: Generator = (rng, t) => {
  const path = `/callback?${query(rng, [code(rng), `state=${t.state}`, iss(rng)])}`;
  const good = goodHost(t);
  const roll = rng.int(0, 9);
  if (roll < 7) {
    let otherPort = rng.int(1, 65535);
    if (otherPort === t.port) otherPort = t.port === 65535 ? 1 : t.port + 1;
    const host = rng.pick([
      'evil.example',
      `evil.example:${t.port}`,
      `127.0.0.1:${otherPort}`,
      `localhost:${t.port}`,
      'localhost',
      '127.0.0.1',
      `[::1]:${t.port}`,
      `${good}.evil.example`,
      `127.0.0.1.evil.example:${t.port}`,
      `0x7f.0.0.1:${t.port}`,
      `2130706433:${t.port}`,
      `127.1:${t.port}`,
      `127.0.0.1.:${t.port}`,
      `127.0.0.2:${t.port}`,
      `127.0.0.1:0${t.port}`,
      `${good}:${t.port}`,
      `evil.example@${good}`,
      `${rng.string(8).toLowerCase()}.rebind.example:${t.port}`,
      `LOCALHOST:${t.port}`,
    ]);
    return { kind: 'wrong-host', request: { via: 'http', method: 'GET', path, host }, expect: [421] };
  }
  const headers = rng.pick([
    { version: 'HTTP/1.0', hosts: [] as string[], expect: [421] },
    { version: 'HTTP/1.1', hosts: [good, 'evil.example'], expect: [421] },
    { version: 'HTTP/1.1', hosts: ['evil.example', good], expect: [421] },
    { version: 'HTTP/1.1', hosts: [good, good], expect: [421] },
    { version: 'HTTP/1.1', hosts: [], expect: [421] },
    { version: 'HTTP/1.1', hosts: [''], expect: [421] },
  ]);
  const lines = headers.hosts.map((h) => `${rng.pick(['Host', 'host', 'HOST'])}: ${h}\r\n`).join('');
  return { kind: 'wrong-host', request: { via: 'raw', bytes: `GET ${path} ${headers.version}\r\n${lines}\r\n` }, expect: headers.expect };
};

const hugeQuery: Generator = (rng, t) => {
  const size = rng.int(64 * 1024, 70 * 1024);
  const pad = rng.string(size);
  const good = `Host: ${goodHost(t)}\r\n`;
  const bytes = rng.pick([
    `GET /callback?${code(rng)}&state=${t.state}&junk=${pad} HTTP/1.1\r\n${good}\r\n`,
    `GET /callback?junk=${pad}&state=${t.state} HTTP/1.1\r\n${good}\r\n`,
    `GET /callback?${`state=${t.state}&`.repeat(Math.ceil(size / (t.state.length + 7)))} HTTP/1.1\r\n${good}\r\n`,
    `GET /callback?${code(rng)}&state=${t.state} HTTP/1.1\r\n${good}Cookie: ${pad}\r\n\r\n`,
  ]);
  return { kind: 'huge-query', request: { via: 'raw', bytes }, expect: [431] };
};

// Above the listener's 8 KB URL limit, below the 16 KB header limit: refused by the handler.
const longUrl: Generator = (rng, t) =>
  get(t, `/callback?${query(rng, [code(rng), `state=${t.state}`, `pad=${rng.string(rng.int(8_300, 14_000))}`])}`, 'long-url', [414]);

const malformed: Generator = (rng, t) => {
  const h = `Host: ${goodHost(t)}\r\n`;
  const target = `/callback?${code(rng)}&state=${t.state}`;
  const roll = rng.int(0, 5);
  if (roll === 0) {
    // Bytes that cannot start an HTTP request (TLS ClientHello-like, control characters).
    const start = rng.pick(['\x16\x03\x01', '\x00', ' ', '\r\n\x01', '\xff\xfe', '{']);
    return {
      kind: 'malformed',
      request: { via: 'raw', bytes: `${start}${rng.string(rng.int(0, 200), '\x00\x01\x02abc\x7f\xff \t:/')}\r\n\r\n` },
      expect: [400],
    };
  }
  if (roll === 5) {
    // The head parses, so the handler answers before the broken body is read.
    const body = rng.pick([
      `Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n\r\n`,
      `Content-Length: 5\r\n\r\nabcdefgh`,
      `Transfer-Encoding: chunked\r\n\r\n${rng.string(10)}\r\n`,
    ]);
    return { kind: 'malformed', request: { via: 'raw', bytes: `POST ${target} HTTP/1.1\r\n${h}${body}` }, expect: [405] };
  }
  const bytes = rng.pick([
    `GET ${target} HTTP/${rng.pick(['9.9', '1.1x', '1', '1.10', '1.2', '0.0', '3.0'])}\r\n${h}\r\n`,
    `GET ${target} ${rng.pick(['HTTPS/1.1', 'http/1.1', 'HTTP 1.1', 'HTTP/1.1 extra'])}\r\n${h}\r\n`,
    `GET ${target} HTTP/1.1\r\n${h}${rng.pick(['BadHeader', 'Bad Header: x', ': empty-name', 'X-A: a\x00b', 'X-A: a\rb', 'X-A: a\r\n folded'])}\r\n\r\n`,
    `GET ${target} HTTP/1.1\r\n${h}Content-Length: ${rng.pick(['-1', '1e3', '0x10', '99999999999999999999', '3, 4'])}\r\n\r\n`,
    `POST ${target} HTTP/1.1\r\n${h}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST ${target} HTTP/1.1\r\n${h}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
    `GET\t${target}\tHTTP/1.1\r\n${h}\r\n`,
    `GET ${target} HTTP/1.1\n${h.replace('\r', '')}X-Bare-Lf: 1\n\n`,
    `GET ${target.replace('?', '\x7f?')} HTTP/1.1\r\n${h}\r\n`,
    `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
  ]);
  if (roll === 4) {
    // No version: the parser takes it for HTTP/0.9, so the stray line becomes a second Host.
    return {
      kind: 'malformed',
      request: { via: 'raw', bytes: `GET ${target}\r\nHost: evil.example HTTP/1.1\r\n${h}\r\n` },
      expect: [400, 421],
    };
  }
  return { kind: 'malformed', request: { via: 'raw', bytes }, expect: [400] };
};

const absoluteForm: Generator = (rng, t) => {
  const q = `?${query(rng, [code(rng), `state=${t.state}`])}`;
  const [requestTarget, expect] = rng.pick<[string, number[]]>([
    [`http://127.0.0.1:${t.port}/callback${q}`, [404]],
    [`http://evil.example/callback${q}`, [404]],
    [`//127.0.0.1:${t.port}/callback${q}`, [404]],
    [`callback${q}`, [400]],
    [`*`, [404]],
  ]);
  return { kind: 'absolute-form', request: { via: 'raw', bytes: `GET ${requestTarget} HTTP/1.1\r\nHost: ${goodHost(t)}\r\n\r\n` }, expect };
};

const GENERATORS: Record<AttackKind, Generator> = {
  'random-path': randomPath,
  'random-method': randomMethod,
  'missing-state': missingState,
  'duplicate-state': duplicateState,
  'wrong-state': wrongStateAttack,
  'error-without-state': errorWithoutState,
  'wrong-host': wrongHost,
  'huge-query': hugeQuery,
  'long-url': longUrl,
  malformed,
  'absolute-form': absoluteForm,
};
