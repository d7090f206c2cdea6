import type { XtalkError } from '../errors.js';
import type { Ui } from '../output/ui.js';

/**
 * The listener's `onRefusedPeer` for a use case: the first connection the loopback rule refused is
 * reported on stderr (what happened and what to do); later ones only with --debug, so a client that
 * keeps knocking cannot flood the terminal. The sign-in or sign-out goes on waiting.
 */
export function warnOnceAboutRefusedPeers(ui: Ui): (refusal: XtalkError) => void {
  let warned = false;
  return (refusal) => {
    if (warned) {
      ui.debug(refusal.message);
      return;
    }
    warned = true;
    ui.warn(refusal.hint ? `${refusal.message} ${refusal.hint}` : refusal.message);
  };
}
