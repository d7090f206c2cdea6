// Debian's Chromium as the test browsers launch it: headless, and nothing but loopback reachable.
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Loopback bypasses a proxy implicitly; everything else hits a closed loopback port, so the
  // browser cannot reach any other address even through a redirect.
  '--proxy-server=http://127.0.0.1:9',
];
