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
  setEdgeHint,
  type KnownErrorCode,
} from '../../src/errors.js';
import { HINTS } from '../../src/hint-words.js';
import { KeychainUnavailableError } from '../../src/store/keys/keychain/system-keychain.js';

describe('stable error codes', () => {
  it.each([
    [new UsageError('USAGE', 'bad flag'), 'USAGE', 2],
    [new ConfigError('CONFIG_INVALID', 'bad env value'), 'CONFIG_INVALID', 1],
    [new ConfigError('USAGE', 'bad --port'), 'USAGE', 2],
    [new LoginRequiredError('LOGIN_REQUIRED', 'You are not logged in.'), 'LOGIN_REQUIRED', 4],
    [new NotLoggedInError('LOGIN_REQUIRED', 'You are not logged in.'), 'LOGIN_REQUIRED', 4],
    [new NotLoggedInError('LOGIN_REQUIRED', 'No account is selected.', { facts: { reason: 'none_selected' } }), 'LOGIN_REQUIRED', 4],
    [new SessionExpiredError('SESSION_EXPIRED', 'Your session has expired.'), 'SESSION_EXPIRED', 4],
    [new SessionExpiredError('SESSION_EXPIRED', 'gone', { cause: new Error('x') }), 'SESSION_EXPIRED', 4],
    [new ProviderError('PROVIDER_ERROR', 'refused', { facts: { error: 'invalid_client' } }), 'PROVIDER_ERROR', 1],
    [new ProviderError('DISCOVERY_FAILED', 'not a discovery document'), 'DISCOVERY_FAILED', 1],
    [new NetworkError('NETWORK_ERROR', 'unreachable'), 'NETWORK_ERROR', 1],
    [new KeychainError('KEYCHAIN_UNAVAILABLE', 'locked'), 'KEYCHAIN_UNAVAILABLE', 1],
    [new KeychainUnavailableError('timed out'), 'KEYCHAIN_UNAVAILABLE', 1],
    [new StoreError('STORE_ERROR', 'corrupt', { facts: { reason: 'corrupt' } }), 'STORE_ERROR', 1],
    [new RevocationFailedError('REVOCATION_FAILED', 'still logged in'), 'REVOCATION_FAILED', 5],
    [new CancelledError('CANCELLED', 'Cancelled.'), 'CANCELLED', 130],
    [new XtalkError('ERROR', 'something expected'), 'ERROR', 1],
    [new XtalkError('LOGIN_REQUIRED', 'waited too long for the other login'), 'LOGIN_REQUIRED', 4],
    [new XtalkError('USAGE', 'typed wrong'), 'USAGE', 2],
    [new XtalkError('COMMAND_NOT_FOUND', 'Cannot run nope: command not found.'), 'COMMAND_NOT_FOUND', ExitCode.CommandNotFound],
    [new XtalkError('CANNOT_EXECUTE', 'Cannot run ./x: permission denied.'), 'CANNOT_EXECUTE', ExitCode.CannotExecute],
  ])('%s → %s, exit %i', (error, code, exitCode) => {
    expect(error).toBeInstanceOf(XtalkError);
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(exitCode);
    expect(Object.keys(ErrorCodes)).toContain(code);
  });

  it('everything the CLI exits 4 for is a LoginRequiredError, with the `xtalk login` hint', () => {
    for (const e of [
      new NotLoggedInError('LOGIN_REQUIRED', 'You are not logged in.'),
      new SessionExpiredError('SESSION_EXPIRED', 'Your session has expired.'),
    ]) {
      expect(e).toBeInstanceOf(LoginRequiredError);
      expect(e.hint).toMatch(/xtalk login/);
    }
    expect(new NotLoggedInError('LOGIN_REQUIRED', 'You are not logged in.').name).toBe('NotLoggedInError');
  });

  it('keeps the hints the classes always had, and the hint an edge gives wins', () => {
    expect(new NetworkError('NETWORK_ERROR', 'x').hint).toBe(HINTS.NETWORK_ERROR);
    expect(setEdgeHint(new NetworkError('NETWORK_ERROR', 'x'), 'h').hint).toBe('h');
    expect(new RevocationFailedError('REVOCATION_FAILED', 'x').hint).toMatch(/--force/);
    expect(setEdgeHint(new RevocationFailedError('REVOCATION_FAILED', 'x'), 'retry').hint).toBe('retry');
    expect(new KeychainError('KEYCHAIN_UNAVAILABLE', 'x').hint).toMatch(/XTALK_CREDENTIAL_STORE=file/);
    const answered = new ProviderError('PROVIDER_ERROR', 'x', { facts: { error: 'e', errorDescription: 'd' } });
    expect(setEdgeHint(answered, 'h')).toMatchObject({ hint: 'h', error: 'e', errorDescription: 'd' });
  });

  it('a code the table does not list exits as the class does', () => {
    // Only a record of another xtalk version can bring one (src/auth/refresh/shared-failure.ts revives recorded failures).
    const unlisted = (code: string) => code as KnownErrorCode;
    expect(new StoreError(unlisted('STORE_LOCKED'), 'x')).toMatchObject({ code: 'STORE_LOCKED', exitCode: 1 });
    expect(new SessionExpiredError(unlisted('REFRESH_REJECTED'), 'x')).toMatchObject({ code: 'REFRESH_REJECTED', exitCode: 4 });
    expect(new UsageError(unlisted('ACCOUNT_AMBIGUOUS'), 'x')).toMatchObject({ code: 'ACCOUNT_AMBIGUOUS', exitCode: 2 });
  });
});

describe('the CLI reports an error by its code', () => {
  it("exits with the code's exit status, prints the hint, and names the code with --debug only", async () => {
    const { reportError } = await import('../../src/cli/report.js');
    const { createTestContext } = await import('../fakes/context.js');
    const quiet = createTestContext();
    expect(reportError(new SessionExpiredError('SESSION_EXPIRED', 'Your session has expired.'), quiet, false)).toBe(4);
    expect(quiet.stderr.text).toBe('✗ Your session has expired.\n  hint: Run `xtalk login` to sign in again.\n');
    const debug = createTestContext();
    expect(reportError(new ProviderError('DISCOVERY_FAILED', 'bad discovery'), debug, true)).toBe(1);
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
    const { classifyEscapedError } = await import('../../src/store/db/store-errors.js');
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
    const { classifyEscapedError } = await import('../../src/store/db/store-errors.js');
    const wrapped = classifyEscapedError(
      new StoreError('STORE_ERROR', 'cannot read the key file /k', {
        facts: { reason: 'key_file_unreadable' },
        cause: Object.assign(new Error('ENFILE'), { code: 'ENFILE' }),
      }),
    );
    expect((wrapped as XtalkError).code).toBe('TOO_MANY_OPEN_FILES');
    expect((wrapped as XtalkError).message).toMatch(/the system has reached its limit/);
  });

  it('the guard of the store turns EMFILE into TOO_MANY_OPEN_FILES, and an unopenable file under descriptor shortage too', async () => {
    const { guardSqlite } = await import('../../src/store/db/db.js');
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
    const { classifyEscapedError } = await import('../../src/store/db/store-errors.js');
    expect((classifyEscapedError(rawSqliteError('unable to open database file', 'SQLITE_CANTOPEN')) as XtalkError).code).toBe(
      'STORE_ERROR',
    );
  });
});
