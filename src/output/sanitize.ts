/** Control and bidi-override characters: a provider-supplied claim must not drive the terminal. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Makes text safe to print on a terminal: unsafe characters become visible `\uXXXX` escapes. */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, unicodeEscape);
}

/**
 * A provider-supplied name as one harmless word: like {@link sanitize}, and newlines and tabs
 * escaped too. Completion offers this form; `--account` and `switch` accept it back.
 */
export function typeableName(text: string): string {
  return sanitize(text).replace(/[\t\n]/g, unicodeEscape);
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
