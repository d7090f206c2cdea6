import { join } from 'node:path';
import { readSettingsFile } from './small-file.js';

/**
 * Parses a `.env` file the way the X-Talk web examples write them (python-dotenv style):
 * `KEY=value`, optional `export `, quotes, `#` comments. No variable expansion.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    let value = m[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.lastIndexOf(quote) > 0) {
      value = value.slice(1, value.lastIndexOf(quote));
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out[key] = value;
  }
  return out;
}

/**
 * Reads `.env` from `dir`; a missing file is an empty one, and so is a folder (virtualenvs are often
 * named `.env`). Anything else that is not a small regular file is refused with a ConfigError.
 */
export function readDotenv(dir: string): Record<string, string> {
  const text = readSettingsFile(join(dir, '.env'), '.env file', { ignoreDirectory: true });
  return text === undefined ? {} : parseDotenv(text);
}
