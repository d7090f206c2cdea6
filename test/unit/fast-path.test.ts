import { describe, expect, it } from 'vitest';
import { parseFastTokenArgs } from '../../src/cli/fast-path.js';

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
