import { describe, expect, it } from 'vitest';
import { createUi } from '../../src/output/ui.js';
import { sanitize } from '../../src/output/sanitize.js';
import { CaptureStream, createStdin } from '../fakes/streams.js';

describe('terminal output of provider-supplied text', () => {
  it('escapes control and bidi characters but keeps newlines, tabs and Unicode', () => {
    expect(sanitize('a\u001b[2Jb')).toBe('a\\u001b[2Jb');
    expect(sanitize('evil\u202egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(sanitize('line1\n\tline2 — ünïcødé ✓')).toBe('line1\n\tline2 — ünïcødé ✓');
  });

  it('applies to every human line and to data, not to JSON', () => {
    const stdout = new CaptureStream();
    const stderr = new CaptureStream();
    const ui = createUi({ stdin: createStdin(), stdout, stderr, stdinIsTTY: false, stderrIsTTY: false }, {});
    ui.success('Logged in as a\u001b[31mb');
    ui.error('bad \u0007', 'hint \u001b]0;title\u0007');
    ui.data('alice\u001b[2J\n');
    ui.json({ name: 'x\u001by' });
    expect(stderr.text).not.toContain('\u001b');
    expect(stderr.text).not.toContain('\u0007');
    expect(stdout.text).toContain('alice\\u001b[2J\n');
    expect(JSON.parse(stdout.text.split('\n').slice(1).join('\n')).name).toBe('x\u001by');
  });
});
