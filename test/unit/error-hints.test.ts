/**
 * Errors are made one way (code, message, { facts, cause }) and worded at the edge: the CLI's words
 * in src/hints.ts, the Node API's in src/api/hints.ts (which name no flag of the CLI). These tests
 * check the table against both word lists, and scan src/ so that no thrower words a hint itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apiHintFor, forProgram, NAMES_A_FLAG } from '../../src/api/hints.js';
import { ERROR_CLASSES, ErrorCodes, ExitCode, UsageError, XtalkError, type ErrorFacts, type KnownErrorCode } from '../../src/errors.js';
import { hintFor } from '../../src/hints.js';

/** Facts each code is thrown with somewhere in src/ (one case per wording), `{}` for the plain one. */
const SAMPLES: { [C in KnownErrorCode]: ErrorFacts[] } = {
  ERROR: [
    {},
    ...[
      'device_timeout',
      'login_lock_wait',
      'login_lock_create',
      'not_a_redirect',
      'paste_ended',
      'browser_command',
      'wsl_opener',
      'system_browser',
      'unsafe_browser_url',
      'setting_not_set',
    ].map((reason) => ({ reason, path: '/p', variable: 'BROWSER', redirectUri: 'http://127.0.0.1:1/callback', setting: 'scope' })),
  ],
  USAGE: [
    {},
    { missing: 'client' },
    { setting: 'timeout' },
    ...[
      'relative_url_without_base',
      'min_ttl',
      'ambiguous_account',
      'no_device_flow',
      'device_with_prompt',
      'no_secret',
      'body_without_method',
      'authorization_header',
      'secret_not_printed',
      'secret_in_argv',
      'unknown_shell',
      'unknown_format',
      'json_and_format',
      'account_twice',
      'no_account_named',
      'unknown_setting',
    ].map((reason) => ({ reason, command: 'token', choices: 'a, b', path: '/c' })),
  ],
  CONFIG_INVALID: [
    {},
    ...['timeout', 'http_timeout', 'logout_browser', 'insecure_http_origins', 'key_cache_seconds'].map((setting) => ({ setting })),
    { setting: 'scope', empty: true },
    ...[
      'unknown_setting',
      'signing_alg',
      'token_auth_method',
      'not_a_url',
      'not_https',
      'port',
      'credential_store',
      'endpoint_origin',
      'proxy',
      'unreadable_file',
      'not_a_file',
      'file_too_large',
      'broken_config_file',
      'browser_quote',
      'browser_batch',
    ].map((reason) => ({ reason, choices: 'a, b', path: '/c', what: 'config file', from: 'XTALK_X', variable: 'BROWSER' })),
  ],
  LOGIN_REQUIRED: [{}, { reason: 'none_selected' }, { reason: 'no_match' }, { reason: 'logged_out' }],
  SESSION_EXPIRED: [
    {},
    { dataKeyGone: 'keychain', keychainAccount: 'a' },
    { dataKeyGone: 'file', path: '/k' },
    { reason: 'no_refresh_token' },
    { reason: 'api_refused_after_refresh' },
  ],
  PROVIDER_ERROR: [
    {},
    { answer: 'status', status: 503 },
    { answer: 'status', status: 400 },
    ...['invalid_client', 'invalid_scope', 'access_denied', 'invalid_request', 'server_error', 'other'].map((error) => ({
      answer: 'oauth',
      error,
    })),
    { reason: 'device_code_expired' },
    { reason: 'no_subject' },
  ],
  DISCOVERY_FAILED: [
    ...[
      'bad_redirect',
      'other_origin',
      'too_many_redirects',
      'provider_problem',
      'not_found',
      'not_json',
      'not_an_object',
      'not_a_provider',
      'issuer_spelling',
      'other_issuer',
    ].map((reason) => ({ reason, origin: 'https://o', next: 'https://n', url: 'https://u', named: '"https://i"' })),
    { was: 'RESPONSE_TOO_LARGE' },
  ],
  NETWORK_ERROR: [{}, { timedOut: true }, { grantSent: true }, { reason: 'api_unreachable' }, { reason: 'answer_broke_off' }],
  KEYCHAIN_UNAVAILABLE: [{}, { reason: 'key_in_keychain' }],
  STORE_ERROR: [
    'locked',
    'corrupt',
    'foreign',
    'newer',
    'full',
    'read_only',
    'permissions',
    'cannot_open',
    'sqlite',
    'internal',
    'key_file_unreadable',
    'key_file_uncreatable',
  ].map((reason) => ({ reason, path: '/d/xtalk.db' })),
  REVOCATION_FAILED: [
    {},
    { browser: 'open', all: true },
    { reason: 'undecryptable' },
    { reason: 'endpoint_refused', browser: 'print' },
    { reason: 'no_endpoint' },
    { reason: 'no_endpoint', endSession: true },
    { reason: 'no_endpoint', browser: 'open' },
    { reason: 'session_not_ended', endSession: true, browser: 'open' },
  ],
  CANCELLED: [{}],
  ID_TOKEN_INVALID: [
    {},
    { refreshTokenKept: true },
    ...['auth_time', 'listed_alg', 'hmac_alg', 'hmac_signature'].map((check) => ({ check, alg: 'HS256', configuredAlg: 'RS256' })),
    { check: 'listed_alg', alg: 'ES256' },
  ],
  INVALID_CLIENT: [{ method: 'none' }, { method: 'client_secret_basic' }],
  CLIENT_SECRET_REQUIRED: [{}],
  AUTHORIZATION_CODE_REJECTED: [{}],
  DEVICE_FLOW_UNAVAILABLE: [{}],
  DEVICE_SIGN_IN_ENDED: ['access_denied', 'expired_token', 'invalid_grant', 'unauthorized_client', 'other'].map((error) => ({ error })),
  ENDPOINT_REFUSED: [{}],
  RESPONSE_TOO_LARGE: [{}],
  ENDPOINT_MISSING: [{}],
  PORT_IN_USE: [{ port: 8080 }],
  PORT_UNAVAILABLE: [{ port: 80 }],
  PORT_INVALID: [{}],
  TIMEOUT_INVALID: [{}],
  TIMEOUT: [{}, { waitingFor: 'sign_out' }],
  SIGN_IN_LINK_REUSED: [{}],
  TOKEN_UNDECRYPTABLE: [{}],
  DATA_KEY_INVALID: [{}, { keyFile: 'not_a_file' }, { keyFile: 'too_large' }],
  ACCOUNT_GONE: [{}],
  ACCOUNT_NOT_FOUND: [{}],
  INTERNAL: [{}],
  NOT_OAUTH_ANSWER: [{ grantSent: true }],
  REFRESH_WAIT_TIMEOUT: [{}],
  TOO_MANY_OPEN_FILES: [{}],
  LOOPBACK_PEER_REFUSED: [{ reason: 'other-user', peerUid: 1001 }, { reason: 'owner-unknown' }],
  BEARER_DESTINATION_REFUSED: ['not-a-url', 'not-http', 'credentials-in-url', 'origin-not-allowed', 'not-https'].map((reason) => ({
    origin: 'http://x',
    reason,
  })),
  COMMAND_NOT_FOUND: [{}],
  CANNOT_EXECUTE: [{}],
  MIN_TTL_UNSATISFIABLE: [{ minTtlSeconds: 7200, lifetimeSeconds: 3600 }],
};

/** Where the message says all there is: these (code, facts) get no hint. */
const NO_HINT = new Set(['ERROR {}', 'USAGE {}', 'CONFIG_INVALID {}', 'PROVIDER_ERROR {}', 'CANCELLED {}', 'INVALID_CLIENT' /* never */]);

/** What reaches a program through getAccessToken, getToken, whoami, listAccounts or createFetch: each needs words for programs. */
const REACHES_PROGRAMS: [KnownErrorCode, ErrorFacts][] = [
  ['LOGIN_REQUIRED', {}],
  ['LOGIN_REQUIRED', { reason: 'no_match' }],
  ['SESSION_EXPIRED', {}],
  ['SESSION_EXPIRED', { reason: 'no_refresh_token' }],
  ['USAGE', { reason: 'min_ttl' }],
  ['USAGE', { reason: 'relative_url_without_base' }],
  ['USAGE', { missing: 'client' }],
  ['CONFIG_INVALID', { setting: 'timeout' }],
  ['CONFIG_INVALID', { reason: 'port' }],
  ['TOKEN_UNDECRYPTABLE', {}],
  ['STORE_ERROR', { reason: 'newer', path: '/d/xtalk.db' }],
  ['KEYCHAIN_UNAVAILABLE', { reason: 'key_in_keychain' }],
  ['NETWORK_ERROR', { timedOut: true }],
  ['PROVIDER_ERROR', { answer: 'status', status: 400 }],
  ['PROVIDER_ERROR', { answer: 'oauth', error: 'invalid_scope' }],
  ['ID_TOKEN_INVALID', {}],
  ['BEARER_DESTINATION_REFUSED', { origin: 'http://x', reason: 'not-https' }],
  ['BEARER_DESTINATION_REFUSED', { origin: 'http://x', reason: 'origin-not-allowed' }],
  ['TOO_MANY_OPEN_FILES', {}],
  ['REFRESH_WAIT_TIMEOUT', {}],
];

describe('every code in the table has its words at both edges', () => {
  it('has samples for every code, and a class the row names', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(ErrorCodes).sort());
    for (const [code, row] of Object.entries(ErrorCodes)) {
      expect(row.classes.length, code).toBeGreaterThan(0);
      for (const name of row.classes) expect(Object.keys(ERROR_CLASSES), code).toContain(name);
    }
  });

  it('the CLI has words for every code and its facts, except where the message says all', () => {
    const missing: string[] = [];
    for (const [code, samples] of Object.entries(SAMPLES)) {
      for (const facts of samples) {
        const key = `${code} ${JSON.stringify(facts)}`;
        const words = hintFor({ code, facts });
        if (NO_HINT.has(key)) continue;
        if (!words || /undefined|\[object/.test(words)) missing.push(`${key}: ${String(words)}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("the Node API's hint names no flag of the CLI, for every code and its facts", () => {
    const flagged: string[] = [];
    for (const [code, samples] of Object.entries(SAMPLES)) {
      for (const facts of samples) {
        const words = apiHintFor({ code, facts });
        if (words !== undefined && (NAMES_A_FLAG.test(words) || /undefined|\[object/.test(words)))
          flagged.push(`${code} ${JSON.stringify(facts)}: ${words}`);
      }
    }
    expect(flagged).toEqual([]);
  });

  it('the Node API has words for what reaches programs, its own where the CLI names a flag', () => {
    for (const [code, facts] of REACHES_PROGRAMS) {
      const cli = hintFor({ code, facts });
      const api = apiHintFor({ code, facts });
      expect(api, `${code} ${JSON.stringify(facts)}`).toBeTruthy();
      if (cli && NAMES_A_FLAG.test(cli)) expect(api).not.toBe(cli);
    }
  });

  it("recognises a flag of the CLI, and not a hyphen inside a word, a setting or a shell's option", () => {
    for (const words of ['e.g. --timeout 120.', 'run `xtalk logout --force`', '(--port or XTALK_PORT)', '--debug for details'])
      expect(NAMES_A_FLAG.test(words), words).toBe(true);
    for (const words of [
      'Remount read-write',
      'set XTALK_HOME',
      'createFetch({ baseUrl })',
      'e.g. https://a.example/x-y',
      'Run `xtalk login`',
      '(`ulimit -n`, LimitNOFILE)',
      '-- CMD',
    ]) {
      expect(NAMES_A_FLAG.test(words), words).toBe(false);
    }
  });

  it("an error leaving the Node API carries the API hint; the same error on the command line the CLI's", () => {
    const cli = new UsageError('USAGE', 'No issuer configured.', { facts: { missing: 'client' } });
    expect(cli.hint).toMatch(/pass --issuer\/--client-id/);
    const api = forProgram(new UsageError('USAGE', 'No issuer configured.', { facts: { missing: 'client' } }));
    expect(api.hint).toMatch(/^Set XTALK_ISSUER and XTALK_CLIENT_ID/);
    expect(api.hint).not.toMatch(NAMES_A_FLAG);
    expect(api).toMatchObject({ code: 'USAGE', exitCode: ExitCode.Usage, facts: { missing: 'client' } });
  });
});

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** The files that word hints: the CLI's, the Node API's, and errors.ts that reads them. */
const WORDERS = new Set(['hints.ts', 'hint-words.ts', 'hint-reasons.ts', 'api/hints.ts', 'errors.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The text of each `new …Error(` call in `text`, to its closing parenthesis (strings and templates skipped over). */
function errorConstructions(text: string): string[] {
  const found: string[] = [];
  const start = /\bnew [A-Z]\w*Error\(/g;
  for (let m = start.exec(text); m; m = start.exec(text)) {
    let depth = 1;
    let i = m.index + m[0].length;
    let quote: string | undefined;
    for (; i < text.length && depth > 0; i++) {
      const ch = text[i]!;
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    found.push(text.slice(m.index, i));
  }
  return found;
}

/** `file: call` for each error made with a `hint` option, a hint string, or an edge hint set outside the word files. */
function hintsGivenIn(file: string, text: string): string[] {
  const code = text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
    .join('\n');
  const given = errorConstructions(code).filter((call) => /\bhint\s*[:,}]/.test(call.replace(/`[^`]*`|'[^']*'|"[^"]*"/g, '""')));
  const edge = code.split('\n').filter((line) => /\bsetEdgeHint\(/.test(line));
  return [...given, ...edge].map((s) => `${file}: ${s.replace(/\s+/g, ' ').slice(0, 160)}`);
}

describe('hints are worded only in src/hints.ts and src/api/hints.ts', () => {
  it('no file under src/ gives an error a hint of its own', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => {
      const rel = relative(SRC, f).split('\\').join('/');
      return WORDERS.has(rel) ? [] : hintsGivenIn(rel, readFileSync(f, 'utf8'));
    });
    expect(found).toEqual([]);
  });

  it('every error under src/ is made with a code of the table first, as the class the row names', () => {
    const wrong: string[] = [];
    for (const f of sourceFiles(SRC)) {
      const rel = relative(SRC, f).split('\\').join('/');
      if (rel === 'errors.ts') continue;
      for (const call of errorConstructions(readFileSync(f, 'utf8'))) {
        const m = /^new (\w+)\(\s*(?:'([A-Z_]+)'|([^,]+),)/.exec(call);
        const cls = m?.[1];
        if (!cls || !(cls in ERROR_CLASSES)) continue;
        const code = m?.[2];
        if (code === undefined) {
          // A code from a variable: only the revival of a recorded failure and the TOO_MANY_OPEN_FILES copy may.
          if (!/^(code|err\.code === 'ENOENT'|typed \?)/.test((m?.[3] ?? '').trim())) wrong.push(`${rel}: ${call.slice(0, 100)}`);
          continue;
        }
        const row = ErrorCodes[code as KnownErrorCode];
        if (!row) wrong.push(`${rel}: unknown code ${code}`);
        else if (cls !== 'XtalkError' && !(row.classes as readonly string[]).includes(cls)) wrong.push(`${rel}: ${cls} with ${code}`);
        else if (cls === 'XtalkError' && !(row.classes as readonly string[]).includes('XtalkError'))
          wrong.push(`${rel}: XtalkError with ${code} (row: ${row.classes.join(', ')})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('recognises a hint given to an error, and leaves other hints alone', () => {
    expect(hintsGivenIn('x.ts', "throw new XtalkError('ERROR', 'm', { hint: 'h' });")).toHaveLength(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is source code that holds a template literal
    expect(hintsGivenIn('x.ts', "throw new UsageError(\n  'USAGE',\n  `m (${a(b)})`,\n  { cause: e, hint },\n);")).toHaveLength(1);
    expect(hintsGivenIn('x.ts', 'setEdgeHint(e, words);')).toHaveLength(1);
    expect(hintsGivenIn('x.ts', "throw new XtalkError('ERROR', 'the hint: none', { facts: { reason: 'x' } });")).toEqual([]);
    expect(hintsGivenIn('x.ts', "await redirect({ hint: sshForwardHint(env) });\nrevoke(token, 'refresh_token');")).toEqual([]);
    expect(hintsGivenIn('x.ts', "// new XtalkError('ERROR', 'm', { hint: 'h' })")).toEqual([]);
  });
});

describe('one constructor', () => {
  it('every public class takes (code, message, { facts, cause }), its exit code from the row', () => {
    for (const [name, Class] of Object.entries(ERROR_CLASSES)) {
      const code = (Object.entries(ErrorCodes).find(([, row]) => (row.classes as readonly string[]).includes(name))?.[0] ??
        'ERROR') as KnownErrorCode;
      const cause = new Error('under');
      const e = new Class(code, 'message', { cause });
      expect(e, name).toBeInstanceOf(XtalkError);
      expect(e, name).toMatchObject({ name, code, message: 'message', exitCode: ErrorCodes[code].exitCode, facts: {}, cause });
    }
  });
});
