import type { DotenvJudgement, DotenvUnusedReason, SettingSource } from '../core/settings-sources.js';

/**
 * The stderr line every command prints when `./.env` names anything of xtalk's: which names it
 * supplied (a cloned repository's file can choose the provider, so nobody should sign in there
 * without seeing it) and every other name in it, with why it is not used. A `.env` that names nothing
 * of xtalk's is another program's file: no line.
 */
export function dotenvNotice(config: { dotenv: (DotenvJudgement & { path: string }) | undefined }): string | undefined {
  const d = config.dotenv;
  if (!d || (d.used.length === 0 && d.unused.every((u) => u.why === 'unknown'))) return undefined;
  const using = d.used.length > 0 ? `Using ${d.used.join(', ')} from ${d.path} (a .env file in the current folder).` : '';
  const groups = new Map<string, string[]>();
  for (const u of d.unused) {
    const why = reason(u.why, u.by);
    groups.set(why, [...(groups.get(why) ?? []), u.name]);
  }
  const notUsing = [...groups].map(([why, names]) => `${names.join(', ')} (${why})`).join('; ');
  return [using, notUsing && `Not using from ${using ? 'it' : d.path}: ${notUsing}.`].filter(Boolean).join(' ');
}

function reason(why: DotenvUnusedReason, by: SettingSource | undefined): string {
  switch (why) {
    case 'not-allowed':
      return 'a .env may not set xtalk names; only the environment or config.json may';
    case 'overridden':
      return by === 'flag' ? 'a flag gives it' : `${by === 'config.json' ? 'config.json' : 'the environment'} gives it`;
    case 'unknown':
      return 'not xtalk settings';
  }
}
