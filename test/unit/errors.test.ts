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
