import * as oidc from 'openid-client';
import { ProviderError, UsageError } from '../errors.js';
import { describe, mapError } from './map-error.js';
import type { DeviceAuthorization, DevicePoll } from '../core/provider-records.js';

/** RFC 8628 device authorization grant: starting it, and one poll of the token endpoint. */

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Token-endpoint errors that end a device sign-in, with the message (the hint is in src/hints.ts). */
const DEVICE_GRANT_ENDINGS: Record<string, string> = {
  access_denied: 'The sign-in was denied at the provider',
  expired_token: 'The code expired before the sign-in was approved',
  invalid_grant: 'The provider no longer accepts this device code',
  unauthorized_client: 'The provider does not let this client use the device flow',
};

/** Starts an RFC 8628 device authorization; a provider without the endpoint is a usage error (exit 2). */
export async function startDeviceAuthorization(
  config: oidc.Configuration,
  scope: string,
  run: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<DeviceAuthorization> {
  const { issuer, device_authorization_endpoint: endpoint } = config.serverMetadata();
  if (!endpoint) {
    throw new UsageError(
      'DEVICE_FLOW_UNAVAILABLE',
      `The provider at ${issuer} does not offer the device flow: its discovery document has no device_authorization_endpoint.`,
    );
  }
  const res = await run('the device authorization request', () => oidc.initiateDeviceAuthorization(config, { scope }));
  return {
    deviceCode: res.device_code,
    userCode: res.user_code,
    verificationUri: res.verification_uri,
    verificationUriComplete: res.verification_uri_complete,
    expiresIn: res.expires_in,
    interval: res.interval,
  };
}

/**
 * Polls the token endpoint once with a device code. `authorization_pending` and `slow_down` are
 * answers, not errors; `access_denied`, `expired_token` … end the sign-in (code DEVICE_SIGN_IN_ENDED).
 * Anything else is passed to `explain` after mapping.
 */
export async function pollDeviceToken(
  config: oidc.Configuration,
  deviceCode: string,
  explain: (e: unknown) => unknown,
): Promise<
  | Exclude<DevicePoll, { status: 'approved' }>
  | { status: 'approved'; response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers }
> {
  try {
    return { status: 'approved', response: await oidc.genericGrantRequest(config, DEVICE_CODE_GRANT, { device_code: deviceCode }) };
  } catch (e) {
    if (!(e instanceof oidc.ResponseBodyError)) throw explain(mapError(e, 'the device token request'));
    if (e.error === 'authorization_pending') return { status: 'pending' };
    if (e.error === 'slow_down') return { status: 'slow_down' };
    const ending = DEVICE_GRANT_ENDINGS[e.error];
    if (!ending) throw explain(mapError(e, 'the device token request'));
    throw new ProviderError('DEVICE_SIGN_IN_ENDED', `${ending} (${describe(e)}).`, {
      facts: { error: e.error, errorDescription: e.error_description },
      cause: e,
    });
  }
}
