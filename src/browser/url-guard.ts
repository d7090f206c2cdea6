import { XtalkError } from '../errors.js';
import { isLoopbackHost } from '../core/url-rules.js';

/**
 * True only for `https:` URLs and `http:` URLs on a loopback host. Everything else a provider
 * could put in an authorization URL (`javascript:`, `file:`, custom schemes that launch programs)
 * must never reach the OS "open" machinery.
 */
export function isSafeBrowserUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return parsed.hostname !== '';
  if (parsed.protocol === 'http:') return isLoopbackHost(parsed.hostname);
  return false;
}

/**
 * Throws unless {@link isSafeBrowserUrl}; returns the URL in its normalised (percent-encoded) form,
 * which is what should be handed to the browser.
 */
export function assertSafeBrowserUrl(url: string): string {
  const facts = { reason: 'unsafe_browser_url' } as const;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new XtalkError('ERROR', 'The provider sent a URL that is not valid, so xtalk refuses to open it.', { facts });
  }
  if (!isSafeBrowserUrl(parsed.href)) {
    const where = parsed.protocol === 'http:' ? ` for the non-loopback host ${parsed.hostname}` : '';
    throw new XtalkError(
      'ERROR',
      `The provider sent a URL with scheme ${JSON.stringify(parsed.protocol)}${where} that xtalk refuses to open.`,
      { facts },
    );
  }
  return parsed.href;
}
