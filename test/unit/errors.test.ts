import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ConfigError,
  ErrorCodes,
  ExitCode,
  KeychainError,
  LoginRequiredError,
  NetworkError,
  NotLoggedInError,
  ProviderError,
  RevocationFailedError,
  SessionExpiredError,
  StoreError,
  UsageError,
  XtalkError,
} from '../../src/errors.js';
import { KeychainUnavailableError } from '../../src/store/keychain.js';

describe('stable error codes', () => {
  it.each([
    [new UsageError('bad flag'), 'USAGE', 2],
    [new ConfigError('bad env value', 'fix it'), 'CONFIG_INVALID', 1],
    [new ConfigError('bad --port', 'fix it', ExitCode.Usage), 'USAGE', 2],
    [new LoginRequiredError(), 'LOGIN_REQUIRED', 4],
    [new NotLoggedInError(), 'LOGIN_REQUIRED', 4],
    [new NotLoggedInError('No account is selected.', 'Run `xtalk switch`.'), 'LOGIN_REQUIRED', 4],
    [new SessionExpiredError(), 'SESSION_EXPIRED', 4],
    [new SessionExpiredError('gone', { hint: 'log in', cause: new Error('x') }), 'SESSION_EXPIRED', 4],
    [new ProviderError('refused', { error: 'invalid_client' }), 'PROVIDER_ERROR', 1],
    [new ProviderError('not a discovery document', { code: 'DISCOVERY_FAILED' }), 'DISCOVERY_FAILED', 1],
    [new NetworkError('unreachable'), 'NETWORK_ERROR', 1],
    [new KeychainError('locked'), 'KEYCHAIN_UNAVAILABLE', 1],
    [new KeychainUnavailableError('timed out'), 'KEYCHAIN_UNAVAILABLE', 1],
    [new StoreError('corrupt'), 'STORE_ERROR', 1],
    [new RevocationFailedError('still logged in'), 'REVOCATION_FAILED', 5],
    [new CancelledError(), 'CANCELLED', 130],
    [new XtalkError('something expected'), 'ERROR', 1],
    [new XtalkError('waited too long for the other login', { exitCode: ExitCode.AuthRequired }), 'LOGIN_REQUIRED', 4],
    [new XtalkError('typed wrong', { exitCode: ExitCode.Usage }), 'USAGE', 2],
  ])('%s → %s, exit %i', (error, code, exitCode) => {
    expect(error).toBeInstanceOf(XtalkError);
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(exitCode);
    expect(Object.keys(ErrorCodes)).toContain(code);
  });

  it('everything the CLI exits 4 for is a LoginRequiredError, with the `xtalk login` hint', () => {
    for (const e of [new NotLoggedInError(), new SessionExpiredError()]) {
      expect(e).toBeInstanceOf(LoginRequiredError);
      expect(e.hint).toMatch(/xtalk login/);
    }
    expect(new NotLoggedInError().name).toBe('NotLoggedInError');
  });

  it('keeps the hints the classes always had, and a given hint wins', () => {
    expect(new NetworkError('x').hint).toBe(ErrorCodes.NETWORK_ERROR.hint);
    expect(new NetworkError('x', { hint: 'h' }).hint).toBe('h');
    expect(new RevocationFailedError('x').hint).toMatch(/--force/);
    expect(new RevocationFailedError('x', 'retry').hint).toBe('retry');
    expect(new KeychainError('x').hint).toMatch(/XTALK_CREDENTIAL_STORE=file/);
    expect(new ProviderError('x', { hint: 'h', error: 'e', errorDescription: 'd' })).toMatchObject({ hint: 'h', error: 'e', errorDescription: 'd' });
  });

  it('a more specific code can be set on any class; unknown codes exit as the class does', () => {
    expect(new StoreError('x', { code: 'STORE_LOCKED' })).toMatchObject({ code: 'STORE_LOCKED', exitCode: 1 });
    expect(new SessionExpiredError('x', { code: 'REFRESH_REJECTED' })).toMatchObject({ code: 'REFRESH_REJECTED', exitCode: 4 });
    expect(new UsageError('x', undefined, { code: 'ACCOUNT_AMBIGUOUS' })).toMatchObject({ code: 'ACCOUNT_AMBIGUOUS', exitCode: 2 });
  });
});

describe('the CLI reports an error by its code', () => {
  it('exits with the code\'s exit status, prints the hint, and names the code with --debug only', async () => {
    const { reportError } = await import('../../src/cli/report.js');
    const { createTestContext } = await import('../fakes/context.js');
    const quiet = createTestContext();
    expect(reportError(new SessionExpiredError(), quiet, false)).toBe(4);
    expect(quiet.stderr.text).toBe('✗ Your session has expired.\n  hint: Run `xtalk login` to sign in again.\n');
    const debug = createTestContext();
    expect(reportError(new ProviderError('bad discovery', { code: 'DISCOVERY_FAILED' }), debug, true)).toBe(1);
    expect(debug.stderr.text).toContain('code: DISCOVERY_FAILED\n');
  });
});

/** What better-sqlite3 throws, as another copy of its JavaScript made it (no `instanceof` holds). */
function rawSqliteError(message: string, code: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  Object.defineProperty(e, 'name', { value: 'SqliteError' });
  e.code = code;
  return e;
}

describe('errors that escaped the store are reported as the store would word them', () => {
  it('a raw SQLITE_BUSY is a store error: "locked by another xtalk process" with its hint, never "Unexpected error"', async () => {
    const { reportError } = await import('../../src/cli/report.js');
    const { createTestContext } = await import('../fakes/context.js');
    const ctx = createTestContext();
    expect(reportError(rawSqliteError('database is locked', 'SQLITE_BUSY'), ctx, false)).toBe(ExitCode.Error);
    expect(ctx.stderr.text).toBe(
      '✗ the xtalk database is locked by another xtalk process\n  hint: Try again; if it stays locked, look for a stuck xtalk process.\n',
    );
    const debug = createTestContext();
    reportError(rawSqliteError('database is locked', 'SQLITE_BUSY_SNAPSHOT'), debug, true);
    expect(debug.stderr.text).toContain('code: STORE_ERROR\n');
    expect(debug.stderr.text).not.toContain('Unexpected error');
  });

  it('the same words as a guarded StoreError, for every kind of SQLite failure', async () => {
    const { classifyEscapedError } = await import('../../src/store/store-errors.js');
    const cases: [string, string, RegExp][] = [
      ['SQLITE_LOCKED', 'database table is locked', /locked by another xtalk process/],
      ['SQLITE_CORRUPT', 'database disk image is malformed', /is not an xtalk database or is corrupt/],
      ['SQLITE_FULL', 'database or disk is full', /no space left/],
      ['SQLITE_IOERR_WRITE', 'disk I/O error', /cannot read or write .*SQLITE_IOERR_WRITE/],
      ['SQLITE_CONSTRAINT_TRIGGER', 'nope', /database error in the xtalk database: nope/],
    ];
    for (const [code, message, words] of cases) {
      const e = classifyEscapedError(rawSqliteError(message, code));
      expect(e, code).toBeInstanceOf(StoreError);
      expect((e as StoreError).code, code).toBe('STORE_ERROR');
      expect((e as StoreError).message, code).toMatch(words);
      expect((e as StoreError).hint, code).toBeDefined();
      expect((e as StoreError).hint, code).not.toMatch(/undefined/);
    }
    // Only SQLite's own errors: a name or a code alone is not enough.
    const plain = Object.assign(new Error('x'), { code: 'SQLITE_BUSY' });
    expect(classifyEscapedError(plain)).toBe(plain);
  });

  it('EMFILE or ENFILE, raw or under an error of ours, is TOO_MANY_OPEN_FILES with its hint', async () => {
    const { reportError } = await import('../../src/cli/report.js');
    const { createTestContext } = await import('../fakes/context.js');
    const emfile = Object.assign(new Error("EMFILE: too many open files, open '/x/xtalk.db'"), { code: 'EMFILE', errno: -24 });
    const ctx = createTestContext();
    expect(reportError(emfile, ctx, false)).toBe(ExitCode.Error);
    expect(ctx.stderr.text).toMatch(/^✗ Too many open files: this process has reached its limit \(EMFILE\)\.\n  hint: .*ulimit -n/);
    const { classifyEscapedError } = await import('../../src/store/store-errors.js');
    const wrapped = classifyEscapedError(new StoreError('cannot read the key file /k', { cause: Object.assign(new Error('ENFILE'), { code: 'ENFILE' }) }));
    expect((wrapped as XtalkError).code).toBe('TOO_MANY_OPEN_FILES');
    expect((wrapped as XtalkError).message).toMatch(/the system has reached its limit/);
  });

  it('the guard of the store turns EMFILE into TOO_MANY_OPEN_FILES, and an unopenable file under descriptor shortage too', async () => {
    const { guardSqlite } = await import('../../src/store/db.js');
    const emfile = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    const caught = (() => {
      try {
        guardSqlite('/x/xtalk.db', () => {
          throw emfile;
        });
      } catch (e) {
        return e;
      }
    })();
    expect(caught).toBeInstanceOf(XtalkError);
    expect((caught as XtalkError).code).toBe('TOO_MANY_OPEN_FILES');
    // With descriptors to spare, SQLITE_CANTOPEN stays a store error about the file.
    const { classifyEscapedError } = await import('../../src/store/store-errors.js');
    expect((classifyEscapedError(rawSqliteError('unable to open database file', 'SQLITE_CANTOPEN')) as XtalkError).code).toBe('STORE_ERROR');
  });
});
