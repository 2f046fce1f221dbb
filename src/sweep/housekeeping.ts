// The leader's housekeeping: history pruning, in bounded batches, on a cron schedule
// (history.pruneSchedule), outside any check.
//
// Why node-cron here and not a plain interval: pruning is wall-clock work ops want to place ("at
// 03:30, when the database is quiet"), and the same expression must mean the same time on every
// replica, whichever holds the lease when it fires. Checks are not cron-driven (the claim loop takes
// each account when it falls due), so this is where a calendar earns its place. node-cron's own
// `distributed` election is not used: the fleet already has a leader lease in the database, and a
// replica that is not the leader when the schedule fires simply skips that run.
import { createTask, type ScheduledTask } from 'node-cron';
import type { AccountRepository } from '../accounts/repository.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';

export interface HousekeepingConfig {
  /** node-cron expression (history.pruneSchedule). */
  schedule: string;
  /** History older than this is pruned; 0 keeps everything (the task is not scheduled). */
  historyRetentionMs: number;
  /** Rows deleted per statement (each its own short transaction). */
  pruneBatch: number;
}

export interface HousekeepingDeps {
  repo: Pick<AccountRepository, 'pruneHistory'>;
  metrics: Pick<Metrics, 'incDatabaseErrors'>;
  logger: Logger;
  /** True while this replica holds the leader lease. */
  isLeader: () => boolean;
  clock?: () => Date;
}

export class Housekeeping {
  private task: ScheduledTask | null = null;
  private running: Promise<number | null> | null = null;

  constructor(
    private readonly deps: HousekeepingDeps,
    private readonly config: HousekeepingConfig,
  ) {}

  start(): void {
    if (this.task !== null || this.config.historyRetentionMs <= 0) return;
    this.task = createTask(this.config.schedule, () => this.run(), {
      name: 'mailmon-prune-history',
      // A long prune (a large backlog after raising retention) never runs twice at once.
      noOverlap: true,
      // A fire missed while the event loop was busy is not worth a warning: the next one prunes it.
      suppressMissedWarning: true,
      unref: true,
    });
    void this.task.start();
  }

  /** Prunes now if this replica leads; returns the rows deleted (null: not the leader, or failed). */
  run(): Promise<number | null> {
    this.running ??= this.prune().finally(() => (this.running = null));
    return this.running;
  }

  private async prune(): Promise<number | null> {
    const { repo, metrics, logger, isLeader } = this.deps;
    if (!isLeader() || this.config.historyRetentionMs <= 0) return null;
    const now = (this.deps.clock ?? (() => new Date()))();
    try {
      const deleted = await repo.pruneHistory(
        new Date(now.getTime() - this.config.historyRetentionMs),
        this.config.pruneBatch,
      );
      if (deleted > 0) logger.info({ deleted }, `pruned ${deleted} history row(s)`);
      return deleted;
    } catch (thrown) {
      metrics.incDatabaseErrors();
      logger.warn({ err: toError(thrown) }, 'pruning history failed; retrying at the next scheduled run');
      return null;
    }
  }

  /** Stops the schedule and waits for a running prune (each batch is short). */
  async stop(): Promise<void> {
    if (this.task !== null) await this.task.destroy();
    this.task = null;
    await this.running;
  }
}
