// A local OpenID provider for trying xtalk by hand: `npm run dev-provider [-- <flags>]` (see HELP).
// Everything but --help goes to stderr; the provider runs until Ctrl-C.
import { parseArgs } from 'node:util';

import { startTestProvider } from '../test/provider/provider.js';

const HELP = `Usage: npm run dev-provider [-- <flags>]

A local OpenID provider on 127.0.0.1 (the one the tests and \`npm run demo\` use), running until
Ctrl-C, to try every xtalk command by hand. It prints the XTALK_* settings to export in another
terminal. Sign in with any login name and any password; the login name becomes the sub.
Tokens live in memory: a restart forgets every session (xtalk then asks for \`xtalk login\`).

Flags:
  --port <n>                  listen on this port (default: the PORT variable, else any free port);
                              a fixed port keeps the issuer the same across restarts
  --device-flow               offer the device flow (RFC 8628), for \`xtalk login --device\`
  --hide-revocation-endpoint  leave revocation_endpoint out of discovery (the endpoint still works),
                              to try XTALK_REVOCATION_ENDPOINT and \`xtalk logout\` without one
  --client-secret <secret>    the confidential client's secret (default: random per start)
  -h, --help                  print this help
`;

const OPTIONS = {
  port: { type: 'string' },
  'device-flow': { type: 'boolean', default: false },
  'hide-revocation-endpoint': { type: 'boolean', default: false },
  'client-secret': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS }));
} catch (e) {
  process.stderr.write(`dev-provider: ${(e as Error).message}\n\n${HELP}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const portText = values.port ?? process.env.PORT ?? '0';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`dev-provider: invalid port ${JSON.stringify(portText)}\n`);
  process.exit(2);
}

const provider = await startTestProvider({
  port,
  deviceFlow: values['device-flow'],
  hideRevocationEndpoint: values['hide-revocation-endpoint'],
  ...(values['client-secret'] ? { clientSecret: values['client-secret'] } : {}),
});

process.stderr.write(
  [
    `Test OpenID provider listening at ${provider.issuer}`,
    `  confidential client: ${provider.confidentialClient.clientId} (secret ${provider.confidentialClient.clientSecret})`,
    `  public client:       ${provider.publicClient.clientId}`,
    '  sign in with any login name and any password; the login name becomes the sub.',
    '',
    'Environment for xtalk (confidential client):',
    `  XTALK_ISSUER=${provider.issuer}`,
    `  XTALK_CLIENT_ID=${provider.confidentialClient.clientId}`,
    `  XTALK_CLIENT_SECRET=${provider.confidentialClient.clientSecret}`,
    'or, for the public client:',
    `  XTALK_ISSUER=${provider.issuer}`,
    `  XTALK_CLIENT_ID=${provider.publicClient.clientId}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void provider.stop().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
