// One replica's membership of the fleet, on a timer: its heartbeat (and the number of live replicas,
// which sets its share of perHostConcurrency), the clock skew to the database, and the leader lease.
// The leader brings the fleet-wide metrics from the database (accounts per status, schedule lag);
// its housekeeping (history pruning) runs on its own schedule (housekeeping.ts).
import { hostname } from 'node:os';
import type { AccountRepository } from '../accounts/repository.js';
import type { HostLimiter } from '../checks/host-limiter.js';
import { reconcileMetrics } from '../checks/metrics-sync.js';
import type { ReplicaStore } from '../db/replica-store.js';
import type { SweepStore } from '../db/sweep-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';

const LEADER = 'leader';

export interface FleetConfig {
  replicaId: string;
  /** Heartbeat and leader renewal period, ms; a replica is dead after 3 missed heartbeats. */
  heartbeatMs: number;
  /** The leader lease, ms (another replica takes over within this after the leader dies). */
  leaderLeaseMs: number;
  /** The fleet-wide per-host limit this replica takes its share of. */
  perHostConcurrency: number;
}

export interface FleetDeps {
  replicas: ReplicaStore;
  sweeps: SweepStore;
  repo: AccountRepository;
  hostLimiter: HostLimiter;
  metrics: Metrics;
  logger: Logger;
}

export class Fleet {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;
  private leader = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: FleetDeps,
    private readonly config: FleetConfig,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** Joins (one heartbeat before the first claim, so the per-host share is right from the start). */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      // Never overlapping: a slow database skips a beat rather than piling them up.
      this.tick ??= this.beat().finally(() => (this.tick = null));
    }, this.config.heartbeatMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const { replicas, metrics, hostLimiter, logger } = this.deps;
    try {
      const before = Date.now();
      const dbNow = await replicas.heartbeat({
        id: this.config.replicaId,
        host: hostname(),
        pid: process.pid,
        startedAt: this.startedAt,
      });
      metrics.replica.clockSkew.set(((before + Date.now()) / 2 - dbNow) / 1000);
      const live = Math.max(1, await replicas.liveReplicas(this.config.heartbeatMs * 3, dbNow));
      metrics.replica.replicas.set(live);
      hostLimiter.setPerHost(Math.max(1, Math.floor(this.config.perHostConcurrency / live)));
      const wasLeader = this.leader;
      this.leader = await replicas.holdLease(LEADER, this.config.replicaId, this.config.leaderLeaseMs);
      metrics.replica.leader.set(this.leader ? 1 : 0);
      if (this.leader !== wasLeader)
        logger.info(
          { replica: this.config.replicaId },
          this.leader ? 'leader lease taken' : 'leader lease lost',
        );
      if (this.leader) await this.lead(dbNow);
      else metrics.replica.setLag(null);
    } catch (thrown) {
      metrics.incDatabaseErrors();
      logger.warn({ err: toError(thrown) }, 'heartbeat failed; retrying at the next beat');
    }
  }

  private async lead(dbNow: number): Promise<void> {
    const { sweeps, repo, metrics } = this.deps;
    const oldest = await sweeps.oldestDue();
    metrics.replica.setLag(oldest === null ? 0 : Math.max(0, (dbNow - oldest) / 1000));
    await reconcileMetrics(repo, metrics);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tick;
    try {
      await this.deps.replicas.dropLease(LEADER, this.config.replicaId);
      await this.deps.replicas.leave(this.config.replicaId);
    } catch (thrown) {
      this.deps.logger.warn({ err: toError(thrown) }, 'leaving the fleet failed; the heartbeat will lapse');
    }
  }
}
