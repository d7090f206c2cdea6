// A local OpenID provider for trying xtalk by hand: `npm run dev-provider [-- --port N] [-- --device-flow]`.
// Everything goes to stderr; the provider runs until Ctrl-C.
import { parseArgs } from 'node:util';

import { startTestProvider } from '../test/provider/provider.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'device-flow': { type: 'boolean', default: false },
    'hide-revocation-endpoint': { type: 'boolean', default: false },
    'client-secret': { type: 'string' },
  },
});

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
