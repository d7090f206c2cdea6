/**
 * What may reach a terminal: the one owner of the rule (issue 21). Text from a provider or a server
 * (claims, error descriptions, `xtalk api` bodies) must not drive the terminal — C0 controls such as
 * ESC and BEL, DEL, the C1 controls (U+009B is a one-character CSI) — nor reorder what the user reads
 * (bidi controls) or break lines where none is shown (U+2028/9). Every write to stdout or stderr goes
 * through src/output/ui.ts, which calls these (test/unit/terminal-doors.test.ts keeps it so).
 */

/** Characters a terminal acts on or that reorder text, newline and tab excepted. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text safe to show on a terminal: unsafe characters become visible `\uXXXX`; newlines and tabs stay. */
export function escapeTerminalText(text: string): string {
  return text.replace(UNSAFE, unicodeEscape);
}

/**
 * A provider-supplied name as one harmless word: like {@link escapeTerminalText}, and newlines and
 * tabs escaped too. Completion offers this form; `--account` and `switch` accept it back.
 */
export function typeableName(text: string): string {
  return escapeTerminalText(text).replace(/[\t\n]/g, unicodeEscape);
}

// What JSON.stringify leaves raw although a terminal acts on it (DEL, C1 controls such as CSI
// U+009B) or it reorders the text around it (bidi controls); U+2028/9 also break JavaScript embedding.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text that is harmless on a terminal: as JSON.stringify, plus the characters above as
 * `\uXXXX`. They can only occur inside strings, so the result is valid JSON of the same value.
 */
export function toSafeJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(UNSAFE_IN_JSON, unicodeEscape);
}
