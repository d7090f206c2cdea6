/**
 * The shipped declarations (dist/types, `npm run build` first) as a TypeScript user of the package
 * meets them: a project outside this repository, without @types/node (`types: []`, `typeRoots: []`,
 * no node_modules/@types anywhere up its tree), type-checks an ESM and a CommonJS program that call
 * the whole public API; every public field and option is documented, and no doc comment points
 * into this repository's sources.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from './cli.js';

const exec = promisify(execFile);
const TYPES = join(ROOT, 'dist', 'types');
let app: string;

/** Calls every export, with option and field types spelled out so a loosened declaration fails too. */
const PROGRAM = `
import {
  createFetch, getAccessToken, getToken, listAccounts, whoami, isInvalidTokenChallenge, isXtalkError, ErrorCodes,
  XtalkError, CancelledError, ConfigError, KeychainError, LoginRequiredError, NetworkError, NotLoggedInError,
  ProviderError, RevocationFailedError, SessionExpiredError, StoreError, UsageError,
  type Account, type Token, type TokenRequest, type SessionOptions, type CreateFetchOptions, type FetchFunction,
  type ErrorCode, type KnownErrorCode,
} from '@iottalk/xtalk';

export async function main(): Promise<void> {
  const controller = new AbortController();
  const request: TokenRequest = { account: 'alice', minTtl: 300, env: { XTALK_HOME: '/tmp/x' }, cwd: '/tmp', signal: controller.signal };
  const access: string = await getAccessToken(request);
  const token: Token = await getToken({ minTtl: 60 });
  const fields: [string, string, string, string | null] = [token.access_token, token.token_type, token.expires_at, token.scope];
  const me: Account = await whoami({ account: 'alice' } satisfies SessionOptions);
  const all: Account[] = await listAccounts();
  const details: [string, string, string | null, string | null, boolean, string | null, 'keychain' | 'file' | null] = [
    me.issuer, me.sub, me.username, me.email, me.current, me.access_token_expires_at, me.credential_store,
  ];
  const claim: unknown = me.claims['name'];
  const options: CreateFetchOptions = { baseUrl: 'https://api.example', allowedOrigins: ['https://files.example'], insecureHttpOrigins: [], signal: controller.signal };
  const api: FetchFunction = createFetch(options);
  const response: Response = await api('devices', { method: 'GET', signal: controller.signal });
  const refused: boolean = isInvalidTokenChallenge(response);
  controller.abort();
  try {
    await getAccessToken({ signal: controller.signal });
  } catch (e) {
    if (e instanceof CancelledError) {
      const code: ErrorCode = e.code;
      const exit: number = e.exitCode;
      const hint: string | undefined = e.hint;
      console.log(code, exit, hint);
    }
    if (isXtalkError(e)) {
      const known: KnownErrorCode = 'LOGIN_REQUIRED';
      console.log(e.code === known, ErrorCodes[known].exitCode, e.facts);
    }
    if (e instanceof ProviderError) console.log(e.error, e.errorDescription);
    for (const C of [XtalkError, ConfigError, KeychainError, LoginRequiredError, NetworkError, NotLoggedInError,
      RevocationFailedError, SessionExpiredError, StoreError, UsageError]) console.log(e instanceof C);
    if (e instanceof LoginRequiredError) throw new LoginRequiredError('SESSION_EXPIRED', 'again', { cause: e });
  }
  console.log(access, fields, all, details, claim, refused);
}
`;

beforeAll(() => {
  expect(existsSync(join(TYPES, 'index.d.ts')), 'run `npm run build` first').toBe(true);
  // Outside the repository, so no node_modules/@types of ours is up the tree.
  app = mkdtempSync(join(tmpdir(), 'xtalk-types-'));
  for (let dir = app; dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules', '@types'))).toBe(false);
  // The package as npm would install it, for the compiler: its package.json (exports) and declarations.
  const pkg = join(app, 'node_modules', '@iottalk', 'xtalk');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(TYPES, join(pkg, 'dist', 'types'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'typed-agent', private: true, type: 'module' }));
  writeFileSync(join(app, 'agent.mts'), PROGRAM);
  // The CommonJS twin resolves the package's `require` condition (index.d.cts).
  writeFileSync(join(app, 'agent.cts'), PROGRAM);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: [],
        typeRoots: [],
      },
      files: ['agent.mts', 'agent.cts'],
    }),
  );
});
afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

it('an ESM and a CommonJS program type-check against the declarations without @types/node', { timeout: 120_000 }, async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await exec(process.execPath, [tsc, '-p', app, '--listFiles', '--traceResolution'], { cwd: app }).catch(
    (e: { stdout: string; stderr: string }) => ({ ...e, failed: true }),
  );
  const errors = result.stdout.split('\n').filter((l) => /error TS/.test(l));
  expect(errors).toEqual([]);
  expect('failed' in result, result.stderr).toBe(false);
  const files = result.stdout.split('\n').filter((l) => /\.d\.c?ts$|\.[cm]ts$/.test(l.trim()) && !l.includes(' '));
  // Both declaration flavours were used; nothing came from @types or this repository.
  expect(files.some((f) => f.endsWith(`${sep}dist${sep}types${sep}index.d.ts`))).toBe(true);
  expect(files.some((f) => f.endsWith(`${sep}dist${sep}types${sep}index.d.cts`))).toBe(true);
  expect(files.filter((f) => f.includes('@types') || (f.startsWith(ROOT) && !f.includes(`${sep}typescript${sep}lib${sep}`)))).toEqual([]);
  expect(result.stdout).not.toMatch(/Resolving type reference directive 'node'/);
});

it('the declarations name nothing of Node: no `node:` module, NodeJS namespace, Buffer or reference to its types', () => {
  for (const file of declarationFiles()) {
    const text = readFileSync(file, 'utf8');
    expect(text.match(/from ['"]node:|\bNodeJS\.|\bBuffer\b|reference types=|\bimport\(['"](?!\.)/g), file).toBeNull();
  }
});

it('every exported name, every Account and Token field and every option has a doc comment', () => {
  const program = ts.createProgram([join(app, 'agent.mts')], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    typeRoots: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(join(app, 'node_modules', '@iottalk', 'xtalk', 'dist', 'types', 'index.d.ts'))!;
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!);
  const doc = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
  const undocumented: string[] = [];
  for (const exported of exports) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!doc(target)) undocumented.push(exported.name);
    if (['Account', 'Token', 'SessionOptions', 'TokenRequest', 'CreateFetchOptions'].includes(exported.name)) {
      const type = checker.getDeclaredTypeOfSymbol(target);
      for (const field of checker.getPropertiesOfType(type)) if (!doc(field)) undocumented.push(`${exported.name}.${field.name}`);
    }
  }
  expect(exports.map((e) => e.name)).toEqual(
    expect.arrayContaining(['Account', 'Token', 'getAccessToken', 'createFetch', 'CancelledError']),
  );
  expect(undocumented).toEqual([]);
});

it('no doc comment in the shipped declarations points into the sources (a src/ path, a .ts file, an internal folder)', () => {
  const internal =
    /\b(src|oidc|store|auth|core|cli|commands|api|net|shared|loopback|config|output|doctor|test|scripts)\/|\b[\w-]+\.(ts|mts|cts|c|mjs)\b/;
  const found: string[] = [];
  for (const file of declarationFiles()) {
    const text = readFileSync(file, 'utf8');
    for (const [comment] of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
      for (const line of comment.split('\n')) if (internal.test(line)) found.push(`${file.slice(TYPES.length + 1)}: ${line.trim()}`);
    }
  }
  expect(found).toEqual([]);
});

it('CancelledError says what the Node API accepts: the `signal` option the calls that wait take', () => {
  const errors = readFileSync(join(TYPES, 'errors.d.ts'), 'utf8');
  const cancelled = errors.slice(0, errors.indexOf('export declare class CancelledError'));
  expect(cancelled.slice(cancelled.lastIndexOf('/**'))).toMatch(/`signal`/);
  const options = readFileSync(join(TYPES, 'api', 'options.d.ts'), 'utf8');
  expect(options).toMatch(/signal\?: AbortSignal;/);
});

function declarationFiles(): string[] {
  return readdirSync(TYPES, { recursive: true })
    .map(String)
    .filter((f) => /\.d\.c?ts$/.test(f))
    .map((f) => join(TYPES, f));
}
