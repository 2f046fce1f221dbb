// One replica's membership of the fleet, on a timer: its heartbeat (and the number of live replicas,
// which sets its share of perHostConcurrency), the clock skew to the database, and the leader lease.
// The leader exports what is the fleet's, not one replica's, from the database: the per-account
// series and accounts per status (account-feed.ts) and the schedule lag; its housekeeping (history
// pruning) runs on its own schedule (housekeeping.ts). A replica that loses the lease, or cannot
// renew it for a whole lease, stops exporting them at once.
import { hostname } from 'node:os';
import type { AccountRepository } from '../accounts/repository.js';
import type { HostLimiter } from '../checks/host-limiter.js';
import type { ReplicaStore } from '../db/replica-store.js';
import type { SweepStore } from '../db/sweep-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { toError } from '../probes/errors.js';
import type { AccountFeed } from './account-feed.js';

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
  /** The leader's per-account export. */
  feed: AccountFeed;
}

export class Fleet {
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;
  private leader = false;
  /** Local time until which the lease we last renewed holds (renewal failing past it: not the leader). */
  private leaseValidUntil = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: FleetDeps,
    private readonly config: FleetConfig,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * Joins (one heartbeat before the first claim, so the per-host share is right from the start).
   * Until it holds the leader lease a replica exports no per-account series.
   */
  async start(): Promise<void> {
    this.deps.feed.drop();
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
      const asked = Date.now();
      this.leader = await replicas.holdLease(LEADER, this.config.replicaId, this.config.leaderLeaseMs);
      if (this.leader) this.leaseValidUntil = asked + this.config.leaderLeaseMs;
      metrics.replica.leader.set(this.leader ? 1 : 0);
      if (this.leader !== wasLeader)
        logger.info(
          { replica: this.config.replicaId },
          this.leader ? 'leader lease taken' : 'leader lease lost',
        );
      if (this.leader) await this.lead(dbNow);
      else this.follow();
    } catch (thrown) {
      metrics.incDatabaseErrors();
      logger.warn({ err: toError(thrown) }, 'heartbeat failed; retrying at the next beat');
      // Unable to renew for a whole lease: another replica may lead by now; stop exporting as one.
      if (this.leader && Date.now() >= this.leaseValidUntil) {
        this.leader = false;
        metrics.replica.leader.set(0);
        this.follow();
        logger.warn({ replica: this.config.replicaId }, 'leader lease lapsed: the database did not answer');
      }
    }
  }

  private follow(): void {
    this.deps.metrics.replica.setLag(null);
    if (this.deps.feed.exporting) this.deps.feed.drop();
  }

  private async lead(dbNow: number): Promise<void> {
    const { sweeps, metrics, feed, logger } = this.deps;
    const oldest = await sweeps.oldestDue();
    metrics.replica.setLag(oldest === null ? 0 : Math.max(0, (dbNow - oldest) / 1000));
    if (!feed.exporting) {
      const started = Date.now();
      const accounts = await feed.gain(dbNow);
      logger.info(
        { accounts, ms: Date.now() - started },
        `exporting the per-account series of ${accounts} account(s)`,
      );
    } else await feed.poll(dbNow);
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
