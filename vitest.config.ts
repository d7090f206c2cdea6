import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'xtalk', include: ['test/**/*.test.ts'] } },
      // The provider behaviours of the refresh once more over src/net/lean-fetch.ts, the transport
      // of the CLI's dist/quick-net.cjs (`xtalk refresh`, and the refresh `xtalk token` hands over).
      {
        extends: true,
        test: {
          name: 'lean-fetch',
          include: [
            'test/integration/refresh-reliability.test.ts',
            'test/integration/providers.test.ts',
            'test/integration/id-token-validation.test.ts',
            'test/integration/prefetch-keys.test.ts',
          ],
          env: { XTALK_TEST_TRANSPORT: 'lean' },
        },
      },
    ],
  },
});
