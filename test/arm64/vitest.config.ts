import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:arm64`: xtalk under qemu-user (test/arm64/raspberry-pi.suite.ts). Its own config, so
// `npm test` (test/**/*.test.ts) does not run it; .ci/run runs both.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/arm64/**/*.suite.ts'],
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
    pool: 'forks',
  },
});
