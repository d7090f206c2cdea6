import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { moduleFile } from '../shared/module-file.js';

/**
 * The last line of `xtalk --help`: how this copy was installed and how to update it, as far as
 * can be told from where it runs (under node_modules: npm; beside a .git: a checkout).
 */
export function installNote(packageName: string, here: string = moduleFile(import.meta.url)): string {
  const root = packageRoot(dirname(here));
  if (root === undefined) return '';
  if (root.split(sep).includes('node_modules'))
    return `Installed from npm as ${packageName}; upgrade with: npm install -g ${packageName}@latest`;
  if (existsSync(join(root, '.git'))) return `Running from a git checkout at ${root}; update with: git pull && npm run build`;
  return `Running from ${root}.`;
}

/** The nearest folder at or above `dir` holding a package.json (the build and the sources alike). */
function packageRoot(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) return undefined;
  }
}
