import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers (Dovecot, MariaDB, Prometheus) per file: two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
