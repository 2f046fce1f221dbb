import type { AccountRepository } from './accounts/repository.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AccountChecker } from './checks/account-checker.js';
import { CheckLeases } from './checks/check-leases.js';
import { readExtraCa } from './checks/extra-ca.js';
import { HostLimiter } from './checks/host-limiter.js';
import { HostBackoff } from './checks/host-backoff.js';
import type { Config } from './config/schema.js';
import { loadKeyring } from './crypto/key-source.js';
import type { Keyring } from './crypto/keyring.js';
import { assertKeyringCoversStored, explainMissingKey, storedKeyUsage } from './crypto/stored-secrets.js';
import { KnexAccountRepository } from './db/account-store.js';
import { MYSQL_IDLE_TIMEOUT_SECONDS, openDatabase, type Database } from './db/connection.js';
import { migrateToLatest } from './db/migrate.js';
import { AccountViewStore } from './db/account-view-store.js';
import { ReplicaStore } from './db/replica-store.js';
import { SweepStore } from './db/sweep-store.js';
import { createEgressResolver, type LookupAll } from './egress/resolver.js';
import type { Logger } from './logging/logger.js';
import { Metrics } from './metrics/metrics.js';
import { createImapProbe, createImapSessionRunner } from './probes/imap.js';
import { createImapLoginProbe } from './probes/imap-login.js';
import { KnexDeliveryStore } from './db/delivery-store.js';
import { createSmtpProbe } from './probes/smtp.js';
import type { Probe, Protocol } from './probes/types.js';
import { DeliverySampler } from './sweep/delivery-sampler.js';
import { ClaimLoop } from './sweep/claim-loop.js';
import { AccountFeed } from './sweep/account-feed.js';
import { Fleet } from './sweep/fleet.js';
import { Housekeeping } from './sweep/housekeeping.js';
import { configNotices } from './config/load.js';

export const VERSION = '0.1.0';

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Apply pending migrations on open (serve does; the read-only CLI commands do too, cheaply). */
  migrate?: boolean;
  /** Name lookup used by the egress policy (default: the system resolver). */
  lookup?: LookupAll;
  /** Export Node runtime metrics (once per process). */
  runtimeMetrics?: boolean;
}

/** Everything the daemon, the CLI and the API share, built once, in order, from one config. */
export interface Core {
  config: Readonly<Config>;
  logger: Logger;
  db: Database;
  keyring: Keyring;
  repo: AccountRepository;
  metrics: Metrics;
  probes: Record<Protocol, Probe>;
  checker: AccountChecker;
  /** The daemon's pull loop over the shared database, its membership of the fleet, the leader's chores. */
  claimLoop: ClaimLoop;
  fleet: Fleet;
  housekeeping: Housekeeping;
  close(): Promise<void>;
}

/**
 * The composition root: config → keys → database → repository → metrics → probes → checker →
 * claim loop, fleet and housekeeping. The HTTP server is added by `serve` (src/daemon.ts). Nothing here starts timers.
 */
export async function createCore(options: AppOptions): Promise<Core> {
  const { config, logger } = options;
  for (const notice of configNotices(config)) logger.warn(notice);
  const db = openDatabase(config.database.url, {
    poolMax: config.database.poolMax,
    logger,
    // A frozen replica's open transaction is rolled back (its row locks freed) within this bound.
    idleTimeoutSeconds: Math.max(MYSQL_IDLE_TIMEOUT_SECONDS, 2 * config.replicas.leaseSeconds),
  });
  try {
    if (options.migrate !== false) {
      const applied = await migrateToLatest(db.knex);
      if (applied.length > 0) logger.info({ migrations: applied }, `applied ${applied.length} migration(s)`);
    }
    const sweeps = new SweepStore(db.knex);
    // Replicas need SKIP LOCKED: refuse an older MySQL/MariaDB with a sentence, before anything runs.
    await sweeps.assertSupported();
    const keyring = await openKeyring(config, db, logger);
    const extraCaPem = await readExtraCa(config.tls.extraCaFile);
    const repo = new KnexAccountRepository(db.knex, keyring);
    const metrics = new Metrics({
      perAccountSeries:
        typeof config.metrics.perAccountSeries === 'number'
          ? { max: config.metrics.perAccountSeries }
          : config.metrics.perAccountSeries,
      collectRuntime: options.runtimeMetrics ?? false,
      version: VERSION,
      checkIntervalSeconds: config.scheduler.checkIntervalSeconds,
      quotaWarningRatio: config.probes.quotaWarningPercent / 100,
    });
    const fullImap = createImapProbe({ quotaWarningRatio: config.probes.quotaWarningPercent / 100 });
    const probes = {
      imap: config.probes.imap.mode === 'login' ? createImapLoginProbe({ full: fullImap }) : fullImap,
      smtp: createSmtpProbe(),
    };
    const replicaId = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const leaseMs = config.replicas.leaseSeconds * 1000;
    const timeoutMs = config.scheduler.checkTimeoutSeconds * 1000;
    const leases = new CheckLeases({
      store: sweeps,
      repo,
      metrics,
      logger,
      owner: replicaId,
      leaseMs,
      // Both sides run side by side within their deadline, plus the watchdog's grace and the write.
      awaitMs: Math.max(leaseMs, timeoutMs + 5_000),
    });
    const hostLimiter = new HostLimiter(config.scheduler.perHostConcurrency);
    const checker = new AccountChecker({
      repo,
      probes,
      hostLimiter,
      metrics,
      leases,
      logger,
      resolve: createEgressResolver(config.egress, options.lookup),
      checkTokenHost: createEgressResolver(config.egress, options.lookup, 'tokenEndpointPorts'),
      config: {
        timeoutMs,
        failedThreshold: config.status.failedThreshold,
        checkIntervalMs: config.scheduler.checkIntervalSeconds * 1000,
        testSendTo: config.probes.testSendTo,
        ...(extraCaPem === undefined ? {} : { extraCaPem }),
        authBackoffMaxMs: config.scheduler.authBackoffMaxHours * 3_600_000,
      },
      hostBackoff: new HostBackoff({
        threshold: config.scheduler.hostBackoffAfterRefusals,
        // A refused connection within the longest backoff after a refused login looks like a ban.
        banWindowMs: Math.max(3_600_000, config.scheduler.authBackoffMaxHours * 3_600_000),
      }),
      delivery: {
        store: new KnexDeliveryStore(db.knex),
        metrics,
        config: {
          waitMs: config.delivery.waitSeconds * 1000,
          lostAfterMs: config.delivery.lostAfterSeconds * 1000,
        },
        imapSession: createImapSessionRunner(),
      },
    });
    const claimLoop = new ClaimLoop(
      {
        checker,
        leases,
        metrics,
        logger,
        deliverySampler: new DeliverySampler(
          config.delivery.samplePerSweep,
          config.scheduler.checkIntervalSeconds * 1000,
        ),
      },
      {
        concurrency: config.scheduler.concurrency,
        leaseMs,
        pollMs: config.replicas.pollSeconds * 1000,
        maxClaimAttempts: config.replicas.maxClaimAttempts,
        drainTimeoutMs: config.shutdown.drainTimeoutSeconds * 1000,
      },
    );
    const fleet = new Fleet(
      {
        replicas: new ReplicaStore(db.knex),
        sweeps,
        repo,
        hostLimiter,
        metrics,
        logger,
        feed: new AccountFeed({ views: new AccountViewStore(db.knex), repo, metrics, logger }),
      },
      {
        replicaId,
        heartbeatMs: config.replicas.heartbeatSeconds * 1000,
        leaderLeaseMs: config.replicas.leaderLeaseSeconds * 1000,
        perHostConcurrency: config.scheduler.perHostConcurrency,
      },
    );
    const housekeeping = new Housekeeping(
      { repo, metrics, logger, isLeader: () => fleet.isLeader },
      {
        schedule: config.history.pruneSchedule,
        historyRetentionMs: config.history.retentionDays * 86_400_000,
        pruneBatch: 5_000,
      },
    );
    return {
      config,
      logger,
      db,
      keyring,
      repo,
      metrics,
      probes,
      checker,
      claimLoop,
      fleet,
      housekeeping,
      close: () => db.close(),
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * Loads the keyring. On the embedded SQLite default with nothing stored yet, a missing key file is
 * generated (mode 0600) and announced; anywhere else a missing key is an error, because a key made
 * up on one host cannot decrypt what another host stored.
 */
async function openKeyring(config: Readonly<Config>, db: Database, logger: Logger): Promise<Keyring> {
  const usage = await storedKeyUsage(db.knex);
  const loaded = await loadKeyring({
    secretKey: config.secrets.key,
    keyFile: config.secrets.keyFile,
    generateIfMissing: db.dialect === 'sqlite' && usage.rows === 0,
  }).catch((error: unknown) => {
    throw explainMissingKey(error, usage);
  });
  // Refuse to start when stored values use key ids the keyring lacks: every check would fail.
  await assertKeyringCoversStored(db.knex, loaded.keyring, usage, loaded.source);
  if (loaded.generatedPath) {
    logger.warn(
      { keyFile: loaded.generatedPath },
      `generated a new secret key in ${loaded.generatedPath} (mode 0600); back it up: without it stored passwords cannot be read`,
    );
  }
  return loaded.keyring;
}
