import { describe, expect, it } from 'vitest';
import { pollForDeviceTokens } from '../../src/auth/sign-in/device-flow.js';
import { CancelledError, ProviderError, XtalkError } from '../../src/errors.js';
import type { DevicePoll, TokenResult } from '../../src/core/provider-records.js';

const RESULT: TokenResult = {
  grant: { accessToken: 'at', tokenType: 'Bearer', scope: null, expiresAt: 0, refreshToken: null },
  idClaims: { sub: 'pi' },
};

/** A fake clock advanced only by sleep, and a scripted provider that fails the test if polled too early. */
function harness(answers: Array<DevicePoll['status'] | Error>) {
  let now = 1_000_000;
  let lastPoll = -Infinity;
  const sleeps: number[] = [];
  const pollTimes: number[] = [];
  const slowDowns: number[] = [];
  let minGap = Infinity;
  const deps = {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    poll: async (): Promise<DevicePoll> => {
      minGap = Math.min(minGap, now - lastPoll);
      lastPoll = now;
      pollTimes.push(now);
      const next = answers.shift();
      if (next === undefined) throw new Error('polled more often than scripted');
      if (next instanceof Error) throw next;
      return next === 'approved' ? { status: 'approved', result: RESULT } : { status: next };
    },
    onSlowDown: (ms: number) => slowDowns.push(ms),
  };
  return { deps, sleeps, pollTimes, slowDowns, minGap: () => minGap, answers };
}

describe('pollForDeviceTokens (RFC 8628 §3.5)', () => {
  it('polls every 5 s when the provider sends no interval', async () => {
    const h = harness(['pending', 'pending', 'approved']);
    expect(await pollForDeviceTokens(h.deps, { expiresIn: 600, interval: undefined }, 300_000)).toBe(RESULT);
    expect(h.sleeps).toEqual([5000, 5000, 5000]);
  });

  it('honours the interval the provider sends', async () => {
    const h = harness(['pending', 'approved']);
    await pollForDeviceTokens(h.deps, { expiresIn: 600, interval: 2 }, 300_000);
    expect(h.sleeps).toEqual([2000, 2000]);
  });

  it('adds 5 s on every slow_down and keeps the longer interval', async () => {
    const h = harness(['slow_down', 'pending', 'slow_down', 'slow_down', 'pending', 'approved']);
    await pollForDeviceTokens(h.deps, { expiresIn: 600, interval: undefined }, 300_000);
    expect(h.sleeps).toEqual([5000, 10_000, 10_000, 15_000, 20_000, 20_000]);
    expect(h.slowDowns).toEqual([10_000, 15_000, 20_000]);
    expect(h.minGap()).toBeGreaterThanOrEqual(5000);
  });

  it('stops at once on access_denied and expired_token', async () => {
    for (const error of ['access_denied', 'expired_token']) {
      const h = harness(['pending', new ProviderError('PROVIDER_ERROR', `denied (${error})`, { facts: { error } })]);
      await expect(pollForDeviceTokens(h.deps, { expiresIn: 600, interval: 1 }, 300_000)).rejects.toMatchObject({ error });
      expect(h.pollTimes).toHaveLength(2);
    }
  });

  it('gives up when the device code expires, without polling sooner than the interval', async () => {
    const h = harness(Array(20).fill('pending'));
    await expect(pollForDeviceTokens(h.deps, { expiresIn: 12, interval: 5 }, 300_000)).rejects.toThrow(/code expired/);
    expect(h.pollTimes).toHaveLength(2);
    expect(h.sleeps).toEqual([5000, 5000, 2000]);
  });

  it('gives up after --timeout when that comes first', async () => {
    const h = harness(Array(20).fill('pending'));
    const err = await pollForDeviceTokens(h.deps, { expiresIn: 600, interval: undefined }, 20_000).catch((e) => e);
    expect(err).toBeInstanceOf(XtalkError);
    expect(err.message).toMatch(/Timed out after 20 s/);
    expect(err.hint).toContain('--timeout');
  });

  it('stops sleeping on Ctrl-C', async () => {
    const controller = new AbortController();
    const deps = {
      now: () => Date.now(),
      sleep: (_ms: number, signal?: AbortSignal) =>
        new Promise<void>((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(new CancelledError('CANCELLED', 'Cancelled.'))),
        ),
      poll: async (): Promise<DevicePoll> => ({ status: 'pending' }),
      signal: controller.signal,
    };
    const polling = pollForDeviceTokens(deps, { expiresIn: 600, interval: undefined }, 300_000);
    controller.abort();
    await expect(polling).rejects.toBeInstanceOf(CancelledError);
  });
});
