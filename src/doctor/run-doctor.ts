import type { Run } from '../auth/run.js';
import type { Context } from '../core/context.js';
import { isXtalkError } from '../errors.js';
import { createProviderFetch } from '../net/proxy-fetch.js';
import type { StyledText } from '../output/ui.js';
import { keyCacheState } from '../store/keys/keychain/kernel-cache/key-cache.js';
import { KEYCHAIN_TIMEOUT_MS, type KeychainPort } from '../store/keys/keychain/system-keychain.js';
import { runLimited, warn, type CheckResult, type CheckStatus, type DoctorReport } from './check.js';

import { checkConfig } from './config-check.js';
import { checkBrowser, checkKeychain, checkLoopback, keyCacheNote } from './host-checks.js';
import { checkCa, checkProxy } from './network-env-checks.js';
import { checkLearned } from './learned-check.js';
import { checkSession } from './session-check.js';
import { checkProvider, providerNotChecked } from './provider-checks.js';

export { summarize } from './check.js';

/** What the checks reach outside the run; tests replace them. */
export interface DoctorDeps {
  /** Default: the OS keychain. Bounded by `keychainTimeoutMs` either way (the run's keychain, src/auth/run.ts). */
  keychain?: KeychainPort;
  keychainTimeoutMs?: number;
  /** Default: the proxy-aware fetch provider calls use, else Node's fetch. */
  fetch?: typeof fetch;
  /** Each provider request gives up after this long (default 10 s). */
  requestTimeoutMs?: number;
}

/** What `xtalk doctor` checks: the stored session of `account` (default the current one), with these limits. */
export interface DoctorInput extends Omit<DoctorDeps, 'keychain'> {
  account?: string | undefined;
}

const LOCAL_CHECK_LIMIT_MS = 5_000;

/** Runs every check (those that wait on something in parallel) and returns them in a fixed order. */
export async function runDoctorChecks(run: Run, input: DoctorInput = {}): Promise<DoctorReport> {
  const { ctx } = run;
  const { result: configResult, config } = checkConfig(run);
  const requestTimeoutMs = input.requestTimeoutMs ?? 10_000;
  const keychainTimeoutMs = input.keychainTimeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  const issuer = config?.issuer;
  const providerFetch = input.fetch ?? proxyFetchOrReason(ctx.env);

  const provider = !issuer
    ? Promise.resolve(providerNotChecked(config ? 'no issuer configured' : 'the configuration is invalid'))
    : typeof providerFetch === 'string'
      ? Promise.resolve(providerNotChecked(providerFetch))
      : runLimited('discovery', 2 * requestTimeoutMs + 1_000, ctx.signal, (signal) =>
          checkProvider({
            issuer,
            discoveryUrl: config?.discoveryUrl,
            scope: config?.scope,
            revocationEndpoint: config?.revocationEndpoint,
            revocationEndpointFrom: config?.origins.revocationEndpoint,
            fetch: providerFetch,
            now: () => ctx.now(),
            signal,
            requestTimeoutMs,
          }),
        );
  const keychainCheck = config
    ? runLimited('keychain', keychainTimeoutMs + 2_000, ctx.signal, () =>
        checkKeychain(
          config.credentialStore,
          config.paths.keyFilePath,
          run.keychain,
          keyCacheNote(config.keyCacheSeconds, keyCacheState(config.keyCacheSeconds, ctx.platform)),
        ),
      )
    : Promise.resolve([warn('keychain', 'not checked: the configuration is invalid')]);
  const browser = runLimited('browser', LOCAL_CHECK_LIMIT_MS, ctx.signal, async () =>
    checkBrowser(ctx.env, ctx.platform, await ctx.probeHost()),
  );
  const loopback = config
    ? runLimited('loopback', LOCAL_CHECK_LIMIT_MS, ctx.signal, () => checkLoopback(config.port))
    : Promise.resolve([warn('loopback', 'not checked: the configuration is invalid')]);

  // All at once, so that Ctrl-C (CancelledError from each) is one rejection, not several.
  const [providerResults, keychainResults, browserResults, loopbackResults] = await Promise.all([
    provider,
    keychainCheck,
    browser,
    loopback,
  ]);
  const checks = [
    configResult,
    // A probe that ran out of time or broke reports only itself; the rest were never reached.
    ...(providerResults.length === 1 ? [providerResults[0]!, ...providerNotChecked('discovery did not finish').slice(1)] : providerResults),
    ...keychainResults,
    ...browserResults,
    ...loopbackResults,
    checkProxy(ctx.env, issuer),
    checkCa(ctx.env, run.readFile),
    ...(config ? [checkSession(run, input.account), checkLearned(run, config)].filter((c): c is CheckResult => c !== undefined) : []),
  ];
  return { checks, ok: checks.every((c) => c.status !== 'fail') };
}

/** The fetch provider calls use here, or why there is none (the proxy check explains it). */
function proxyFetchOrReason(env: Context['env']): typeof fetch | string {
  try {
    return createProviderFetch(env) ?? fetch;
  } catch (e) {
    if (isXtalkError(e)) return 'the proxy settings are unusable';
    throw e;
  }
}

const LABELS: Record<string, string> = {
  config: 'configuration',
  discovery: 'discovery',
  jwks: 'signing keys (JWKS)',
  clock: 'clock skew',
  revocation: 'revocation endpoint',
  logout: 'logout',
  keychain: 'keychain',
  browser: 'browser',
  loopback: 'loopback port',
  proxy: 'proxy',
  ca: 'CA certificates',
  session: 'session',
  learned: 'learned',
};

/**
 * One line per check, its fix indented below, as pieces for `ui.data`: the marks are styled there
 * (only on a terminal), the details (which may quote the provider) escaped there.
 */
export function formatReport(report: DoctorReport): Array<string | StyledText> {
  const width = Math.max(...report.checks.map((c) => (LABELS[c.name] ?? c.name).length)) + 2;
  const marks: Record<CheckStatus, StyledText> = {
    ok: { style: 'green', text: '✓' },
    warn: { style: 'yellow', text: '!' },
    fail: { style: 'red', text: '✗' },
  };
  return report.checks.flatMap((c) => [
    marks[c.status],
    ` ${(LABELS[c.name] ?? c.name).padEnd(width)}${c.detail}\n`,
    ...(c.fix ? [`  ${' '.repeat(width)}`, { style: 'dim' as const, text: 'fix:' }, ` ${c.fix}\n`] : []),
  ]);
}
