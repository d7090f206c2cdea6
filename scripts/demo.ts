// `npm run demo`: the whole xtalk flow on a fresh machine, without an IoTtalk account.
// Starts the local OpenID provider, runs `xtalk login` against it in a throw-away XTALK_HOME,
// then `xtalk whoami`. Sign in with any name and password in the browser that opens.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startTestProvider } from '../test/provider/provider.js';

const bin = fileURLToPath(new URL('../bin/xtalk.cjs', import.meta.url));
const provider = await startTestProvider();
const home = mkdtempSync(join(tmpdir(), 'xtalk-demo-'));
const env = {
  ...process.env,
  XTALK_HOME: home,
  XTALK_ISSUER: provider.issuer,
  XTALK_CLIENT_ID: provider.confidentialClient.clientId,
  XTALK_CLIENT_SECRET: provider.confidentialClient.clientSecret,
};

process.stderr.write(
  `Demo provider running at ${provider.issuer} (sign in with any name and password).\nXTALK_HOME=${home}\n\n$ xtalk login\n`,
);

function xtalk(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

// Ctrl-C reaches the child too (same process group); let it exit with 130 and then stop.
process.on('SIGINT', () => {});
let code = await xtalk(['login', ...process.argv.slice(2)]);
if (code === 0) {
  process.stderr.write('\n$ xtalk whoami\n');
  code = await xtalk(['whoami']);
}
await provider.stop();
process.exit(code);
