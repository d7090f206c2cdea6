// `npm run demo [-- <xtalk login flags>]`: the whole xtalk flow on a fresh machine, without an IoTtalk account.
// Starts the local OpenID provider (with the device flow), runs `xtalk login` against it in a
// throw-away XTALK_HOME, then `xtalk whoami`, and removes that folder however it ends (Ctrl-C too).
// Sign in with any name and password. To keep a provider running, use `npm run dev-provider`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startTestProvider } from '../test/provider/provider.js';

const HELP = `Usage: npm run demo [-- <xtalk login flags>]

Starts a local OpenID provider on 127.0.0.1, signs in to it with \`xtalk login\` in a throw-away
XTALK_HOME (file credential store: nothing goes to your keychain), prints \`xtalk whoami\`, and
removes the folder when it ends, Ctrl-C included. Sign in with any name and password.

  npm run demo                  # a browser where one can be shown; else the device flow
  npm run demo -- --device      # the device flow: open the printed page, enter the code
  npm run demo -- --no-browser  # print the sign-in URL, wait for the browser to come back

Headless (SSH, a container): the provider listens on 127.0.0.1 of this machine, so open its page
from here, or forward its port first (ssh -L PORT:127.0.0.1:PORT this-host) and open it on your
computer. To keep a provider running and try every command: npm run dev-provider -- --help
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const bin = fileURLToPath(new URL('../bin/xtalk.cjs', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'xtalk-demo-'));
// Registered before anything else can fail: the folder holds a database and a key file.
process.on('exit', () => rmSync(home, { recursive: true, force: true }));

const provider = await startTestProvider({ deviceFlow: true });
const env = {
  ...process.env,
  XTALK_HOME: home,
  // The folder is removed at the end; a data key in the OS keychain would outlive it.
  XTALK_CREDENTIAL_STORE: 'file',
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
};

process.stderr.write(
  `Demo provider running at ${provider.issuer} (sign in with any name and password).\nXTALK_HOME=${home} (removed when the demo ends)\n\n$ ${['xtalk', 'login', ...process.argv.slice(2)].join(' ')}\n`,
);

let child: ChildProcess | undefined;
function xtalk(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    child = spawn(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

// Ctrl-C on a terminal reaches the child too (same process group): it exits with 130, and the
// demo then cleans up. A signal sent to the demo alone is passed on to the child.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interrupted = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

let code = await xtalk(['login', ...process.argv.slice(2)]);
if (code === 0 && !interrupted) {
  process.stderr.write('\n$ xtalk whoami\n');
  code = await xtalk(['whoami']);
}
await provider.stop();
process.exit(code);
