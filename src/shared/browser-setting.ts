/**
 * The browser a user named: `XTALK_BROWSER`, else `BROWSER` (the first one set and not blank).
 * One owner for config, login's method choice, the opener and doctor.
 */
export const BROWSER_VARIABLES = ['XTALK_BROWSER', 'BROWSER'] as const;

export function browserSetting(
  env: Readonly<Record<string, string | undefined>>,
): { name: (typeof BROWSER_VARIABLES)[number]; value: string } | undefined {
  for (const name of BROWSER_VARIABLES) {
    const value = env[name];
    if (value?.trim()) return { name, value };
  }
  return undefined;
}
