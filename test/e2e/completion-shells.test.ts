/**
 * Shell completion in the real shells: bash, zsh (driven through zpty, pressing Tab) and fish
 * source the script `xtalk completion` prints and complete `xtalk switch ` against a store holding
 * an account whose provider-chosen username is shell code. Nothing may run, and the name must be
 * offered so that the completed line passes it as one literal word. `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE_KEYS } from '../../src/config/setting-names.js';
import { openStore } from '../../src/store/index.js';
import { runCli, XTALK_BIN } from './cli.js';

let dir: string;
let hostile: string;
let env: Record<string, string>;
const markers = () => ['pwned-dollar', 'pwned-backtick'].filter((m) => existsSync(join(dir, m)));

function script(shell: string): string {
  const file = join(dir, `xtalk.${shell}`);
  writeFileSync(file, execFileSync(process.execPath, [XTALK_BIN, 'completion', shell], { env, encoding: 'utf8' }));
  return file;
}

function shellAvailable(shell: string): boolean {
  try {
    execFileSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xtalk-completion-'));
  // What a provider could choose as preferred_username: two command substitutions.
  hostile = `$(touch\${IFS}${dir}/pwned-dollar)\`touch \${IFS}${dir}/pwned-backtick\``;
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const store = openStore({ dbPath: join(home, 'xtalk.db'), keyFilePath: join(home, 'xtalk.key'), mode: 'file', warn: () => {} });
  const grant = { accessToken: 'a', tokenType: 'Bearer', scope: null, expiresAt: Date.now() + 600_000, refreshToken: 'r' };
  await store.saveLogin(
    { issuer: 'https://i.example', sub: 's1', username: hostile, email: null, claims: {}, clientId: 'c' },
    grant,
    Date.now(),
  );
  store.close();
  // The completion scripts call `xtalk` from PATH: the built CLI.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'xtalk'), `#!/bin/sh\nexec "${process.execPath}" "${XTALK_BIN}" "$@"\n`);
  chmodSync(join(bin, 'xtalk'), 0o755);
  env = { PATH: `${bin}:${process.env.PATH}`, HOME: dir, XTALK_HOME: home, XTALK_CREDENTIAL_STORE: 'file', TERM: 'xterm' };
  const names = await runCli(['__complete', 'accounts'], { env });
  expect(names.stdout).toBe(`${hostile}\n`);
});

describe('completing a provider-chosen account name that is shell code', () => {
  it('bash: offers it quoted, runs nothing, and the completed line passes it literally', () => {
    const file = script('bash');
    const program = `source "${file}"
COMP_WORDS=(xtalk switch ''); COMP_CWORD=2; _xtalk
printf 'reply:%s\\n' "\${COMPREPLY[@]}"
# The line as readline would leave it, run with xtalk stubbed: one literal argument.
xtalk() { printf 'arg:%s\\n' "$@"; }
eval "xtalk switch \${COMPREPLY[0]}"`;
    const out = execFileSync('bash', ['--norc', '-c', program], { env, encoding: 'utf8' }).split('\n');
    expect(markers()).toEqual([]);
    expect(out.filter((l) => l.startsWith('reply:'))).toHaveLength(1);
    expect(out.filter((l) => l.startsWith('arg:'))).toEqual(['arg:switch', `arg:${hostile}`]);
    // --account takes the same path.
    const account = execFileSync(
      'bash',
      ['--norc', '-c', `source "${file}"; COMP_WORDS=(xtalk token --account ''); COMP_CWORD=3; _xtalk; printf '%s\\n' "\${#COMPREPLY[@]}"`],
      { env, encoding: 'utf8' },
    );
    expect(account.trim()).toBe('1');
    expect(markers()).toEqual([]);
  });

  it.runIf(shellAvailable('zsh')).each(['sourced', 'autoloaded from $fpath'])('zsh (%s): Tab inserts it quoted and runs nothing', (how) => {
    const file = script('zsh');
    const words = join(dir, `zsh-words-${how.length}`);
    const fpathDir = join(dir, 'zsh-functions');
    mkdirSync(fpathDir, { recursive: true });
    writeFileSync(join(fpathDir, '_xtalk'), readFileSync(file));
    // $fpath is read by compinit; a sourced script needs compinit's compdef first.
    const [before, after] = how === 'sourced' ? ['', `source "${file}"; `] : [`fpath=("${fpathDir}" $fpath); `, ''];
    // A zpty session: an interactive zsh with compinit, Tab after `xtalk switch `, then a key bound
    // to a widget that writes the buffer's words with their quoting removed (nothing expanded).
    const driver = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; ${before}autoload -Uz compinit; compinit -u -D; ${after}dump() { print -rl -- \${(Q)\${(z)BUFFER}} > "${words}" }; zle -N dump; bindkey "^X" dump; echo READY'
zpty -r z line '*READY*'
zpty -w -n z $'xtalk switch \\t'
sleep 2
zpty -w -n z $'\\C-x'
for i in {1..50}; do [[ -s "${words}" ]] && break; sleep 0.1; done
zpty -d z`;
    execFileSync('zsh', ['-f', '-c', driver], { env, encoding: 'utf8', timeout: 30_000 });
    expect(markers()).toEqual([]);
    expect(readFileSync(words, 'utf8').split('\n').filter(Boolean)).toEqual(['xtalk', 'switch', hostile]);
  });

  it.runIf(shellAvailable('fish'))('fish: offers it as it is and runs nothing', () => {
    const file = script('fish');
    const out = execFileSync(
      'fish',
      ['--no-config', '-c', `source "${file}"; complete -C 'xtalk switch '; complete -C 'xtalk whoami --account '`],
      { env, encoding: 'utf8' },
    );
    expect(markers()).toEqual([]);
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual([hostile, hostile]);
  });

  it.runIf(shellAvailable('fish'))('fish: completes config sub-commands, then config.json keys after get, set and unset only', () => {
    const file = script('fish');
    const offered = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source "${file}"; complete -C '${line}'`], { env, encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    expect(offered('xtalk config ').sort()).toEqual(['get', 'list', 'path', 'set', 'unset']);
    expect(offered('xtalk config set ')).toEqual(expect.arrayContaining(['issuer', 'client_secret', 'insecure_http_origins']));
    expect(offered('xtalk config set ').sort()).toEqual([...CONFIG_FILE_KEYS].sort());
    expect(offered('xtalk config list ')).toEqual([]);
    expect(offered('xtalk config set issuer ')).toEqual([]);
  });
});

describe('completing the words after `xtalk config ` and `xtalk completion `', () => {
  it('bash: the config sub-commands and the shells', () => {
    const file = script('bash');
    const offered = (...words: string[]) =>
      execFileSync(
        'bash',
        [
          '--norc',
          '-c',
          `source "${file}"; COMP_WORDS=(xtalk ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _xtalk; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { env, encoding: 'utf8' },
      )
        .split('\n')
        .filter(Boolean);
    expect(offered('config', '')).toEqual(['get', 'set', 'unset', 'list', 'path']);
    expect(offered('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(offered('completion', 'f')).toEqual(['fish']);
    expect(offered('completion', 'bash', '')).not.toContain('zsh');
  });

  it.runIf(shellAvailable('zsh'))('zsh: Tab completes a shell after `xtalk completion `', () => {
    const file = script('zsh');
    const words = join(dir, 'zsh-words-config');
    const driver = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; autoload -Uz compinit; compinit -u -D; source "${file}"; dump() { print -rl -- \${(Q)\${(z)BUFFER}} > "${words}"; zle -M DUMPED }; zle -N dump; bindkey "^X" dump; echo READY'
zpty -r z line '*READY*'
zpty -w -n z $'xtalk completion z\\t'
# The completion's redraw writes the rest of the word ("sh"), then the line is dumped.
zpty -r z line '*sh*'
zpty -w -n z $'\\C-x'
zpty -r z line '*DUMPED*'
zpty -d z`;
    execFileSync('zsh', ['-f', '-c', driver], { env, encoding: 'utf8', timeout: 30_000 });
    expect(readFileSync(words, 'utf8').split('\n').filter(Boolean)).toEqual(['xtalk', 'completion', 'zsh']);
  });

  it.runIf(shellAvailable('fish'))('fish: the shells after `xtalk completion `', () => {
    const file = script('fish');
    const out = execFileSync('fish', ['--no-config', '-c', `source "${file}"; complete -C 'xtalk completion '`], { env, encoding: 'utf8' });
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0])
        .sort(),
    ).toEqual(['bash', 'fish', 'zsh']);
  });
});
