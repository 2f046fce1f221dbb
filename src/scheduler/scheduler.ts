import { createTask, type ScheduledTask } from 'node-cron';

/** Seconds between two consecutive fires of a cron expression (the stale-monitor alert needs it). */
export function cronIntervalSeconds(schedule: string): number {
  const task = createTask(schedule, () => undefined);
  try {
    const [first, second] = task.getNextRuns(2);
    return first && second ? Math.max(1, Math.round((second.getTime() - first.getTime()) / 1000)) : 60;
  } finally {
    void task.destroy();
  }
}
import { reconcileMetrics } from '../checks/metrics-sync.js';
import { toError } from '../probes/errors.js';
import { runSweep, type SweepDeps, type SweepSummary } from './sweep.js';

export interface SchedulerConfig {
  schedule: string;
  concurrency: number;
  spreadMs: number;
  /** History older than this is pruned after each sweep; 0 keeps everything. */
  historyRetentionMs: number;
  /** On stop, in-flight checks get this long before they are aborted. */
  drainTimeoutMs: number;
  /** Due accounts per sweep picked at random for a delivery round trip (delivery.samplePerSweep). */
  deliverySample?: number;
}

/**
 * Drives sweeps from a cron schedule. A tick while a sweep runs is skipped (never overlaps);
 * stop() stops ticking, waits for the running sweep to drain (or aborts it after the drain
 * timeout) and resolves when nothing is in flight.
 */
export class Scheduler {
  private task: ScheduledTask | null = null;
  private running: Promise<SweepSummary | null> | null = null;
  /** Aborted when stop() begins: no new checks start. */
  private readonly starting = new AbortController();
  /** Aborted after the drain timeout (or a second signal): running checks are cancelled. */
  private readonly controller = new AbortController();
  private stopping: Promise<void> | null = null;
  /** Called after every completed sweep (for the health endpoint). */
  onSweep: ((summary: SweepSummary) => void) | null = null;

  constructor(
    private readonly deps: SweepDeps,
    private readonly config: SchedulerConfig,
  ) {}

  start(): void {
    if (this.task !== null || this.stopping !== null) return;
    this.task = createTask(this.config.schedule, () => this.tick(), {
      name: 'mailmon-sweep',
      noOverlap: true,
    });
    void this.task.start();
    // Test right away instead of waiting up to one interval after start-up.
    void this.tick();
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs one sweep now unless one is running (then returns null). Never rejects. */
  tick(): Promise<SweepSummary | null> {
    if (this.running !== null || this.stopping !== null) return Promise.resolve(null);
    this.running = this.sweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sweep(): Promise<SweepSummary | null> {
    const { repo, metrics, logger } = this.deps;
    try {
      const summary = await runSweep(this.deps, {
        signal: this.controller.signal,
        stopStarting: this.starting.signal,
        concurrency: this.config.concurrency,
        spreadMs: this.config.spreadMs,
        deliverySample: this.config.deliverySample ?? 0,
      });
      metrics.recordSweep(summary);
      this.onSweep?.(summary);
      await reconcileMetrics(repo, metrics);
      if (this.config.historyRetentionMs > 0) {
        await repo.pruneHistory(new Date(summary.startedAt.getTime() - this.config.historyRetentionMs));
      }
      logger.info(
        {
          due: summary.due,
          checked: summary.checked,
          ok: summary.ok,
          failed: summary.failed,
          timedOut: summary.timedOut,
          errors: summary.errors,
          durationMs: summary.finishedAt.getTime() - summary.startedAt.getTime(),
        },
        'sweep finished',
      );
      return summary;
    } catch (thrown) {
      // The database being unreachable must not kill the daemon: log, count, try at the next tick.
      metrics.incDatabaseErrors();
      logger.error({ err: toError(thrown) }, 'sweep failed; retrying at the next tick');
      return null;
    }
  }

  /** Idempotent: concurrent callers share one shutdown. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.starting.abort();
    if (this.task !== null) await this.task.destroy();
    this.task = null;
    if (this.running === null) return;
    const timer = setTimeout(
      () => this.controller.abort(new Error('shutdown drain timeout')),
      this.config.drainTimeoutMs,
    );
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Abort in-flight checks now (the second signal). */
  abort(): void {
    this.controller.abort(new Error('forced shutdown'));
  }
}
