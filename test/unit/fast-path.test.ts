import { describe, expect, it } from 'vitest';
import { parseFastArgs, parseFastTokenArgs } from '../../src/commands/fast-path.js';

describe('the fast path of `xtalk token`', () => {
  it('takes the common forms', () => {
    expect(parseFastTokenArgs(['token'])).toEqual({});
    expect(parseFastTokenArgs(['token', '--json', '--debug'])).toEqual({ json: true, debug: true });
    expect(parseFastTokenArgs(['token', '--min-ttl', '300', '--account', 'alice'])).toEqual({ minTtl: '300', account: 'alice' });
    expect(parseFastTokenArgs(['token', '--min-ttl=300', '--account=a@b.c'])).toEqual({ minTtl: '300', account: 'a@b.c' });
    expect(parseFastTokenArgs(['token', '--format', 'header'])).toEqual({ format: 'header' });
  });

  it('leaves everything else to commander', () => {
    for (const argv of [
      [],
      ['whoami'],
      ['token', '--help'],
      ['token', '-h'],
      ['token', '--min-ttl'],
      ['token', '--account', '--json'],
      ['token', '--json=yes'],
      ['token', 'extra'],
      ['token', '--verbose'],
      ['--debug', 'token'],
    ]) {
      expect(parseFastTokenArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('the fast path of `xtalk whoami`', () => {
  it('takes the common forms', () => {
    expect(parseFastArgs(['whoami'])).toEqual({ command: 'whoami', opts: {} });
    expect(parseFastArgs(['whoami', '--json'])).toEqual({ command: 'whoami', opts: { json: true } });
    expect(parseFastArgs(['whoami', '--account', 'alice', '--verify', '--debug'])).toEqual({
      command: 'whoami',
      opts: { account: 'alice', verify: true, debug: true },
    });
    expect(parseFastArgs(['whoami', '--account=a@b.c'])).toEqual({ command: 'whoami', opts: { account: 'a@b.c' } });
    expect(parseFastArgs(['token', '--json'])).toEqual({ command: 'token', opts: { json: true } });
  });

  it('leaves everything else to commander', () => {
    for (const argv of [['whoami', '--help'], ['whoami', '-h'], ['whoami', '--no-color'], ['whoami', 'extra'], ['whoami', '--json=1'], ['whoami', '--account'], ['whoami', '--account', '--json'], ['status'], ['--json', 'whoami']]) {
      expect(parseFastArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
