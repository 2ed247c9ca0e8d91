import { defineConfig } from 'vitest/config';

// Tests are tiered by file suffix:
//   *.test.ts      unit / property tests: pure, no I/O, run in parallel
//   *.int.test.ts  integration tests against the real Kafka broker, schema registry and Redis
// The integration project's global setup finds or starts that infrastructure once and hands
// its addresses to the tests (see test/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'libs/**/*.test.ts',
            'services/**/*.test.ts',
            'scripts/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'libs/**/*.int.test.ts',
            'services/**/*.int.test.ts',
            'scripts/**/*.int.test.ts',
            'test/**/*.int.test.ts',
          ],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration files share one broker and one Redis on a 2-core machine: run files
          // one after another so timings stay predictable.
          fileParallelism: false,
        },
      },
    ],
  },
});
