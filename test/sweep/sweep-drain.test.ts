// runSweep during a shutdown drain: starts cancelled by the drain are not errors, but a check that
// was already running and then fails to write (the database went away) is logged and counted.
import { describe, expect, it } from 'vitest';
import type { AccountChecker } from '../../src/checks/account-checker.js';
import { createLogger } from '../../src/logging/logger.js';
import { runSweep, type SweepDeps } from '../../src/sweep/run-sweep.js';
import { LogCapture } from '../helpers/core.js';
import { newMetrics } from '../metrics/fixtures.js';

describe('runSweep while draining', () => {
  it('logs a database error of a running check; a start the drain cancelled is silent', async () => {
    const logs = new LogCapture();
    const stopStarting = new AbortController();
    const checker = {
      check: async (id: number) => {
        // The drain begins while this check runs; its write then fails.
        stopStarting.abort();
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:3306 (account ${id})`), {
          code: 'ECONNREFUSED',
        });
      },
    } as unknown as AccountChecker;
    const metrics = newMetrics();
    const deps = {
      repo: {} as SweepDeps['repo'],
      checker,
      metrics,
      logger: createLogger({ level: 'info', pretty: false, destination: logs }),
    } satisfies SweepDeps;
    const summary = await runSweep(deps, {
      signal: new AbortController().signal,
      stopStarting: stopStarting.signal,
      concurrency: 1,
      accountIds: [1, 2, 3],
    });
    expect(summary.errors).toBe(1);
    const lines = logs.parsed();
    expect(lines.map((l) => l.msg)).toEqual(['check of account 1 could not be completed']);
    expect(JSON.stringify(lines[0])).toContain('ECONNREFUSED');
    expect(await metrics.metricsText()).toMatch(/mailmon_database_errors_total 1/);
  });
});
