import type { FastifyInstance } from 'fastify';
import { VERSION, type Core } from './app.js';
import { apiPlugin } from './http/api/index.js';
import { assertSafeListen } from './http/auth.js';
import { buildHttpServer, type HealthReport } from './http/server.js';
import { consolePlugin } from './http/ui/index.js';
import { toError } from './probes/errors.js';

export interface Daemon {
  /** e.g. http://127.0.0.1:9187 */
  url: string;
  /** Drains in-flight checks (bounded by shutdown.drainTimeoutSeconds), closes HTTP, then the database. */
  stop(): Promise<void>;
  /** Cancels in-flight checks at once (the second signal). */
  abort(): void;
}

export interface DaemonOptions {
  /** Extra route plugins; registered after /healthz, /metrics and the API. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/**
 * Starts the HTTP listener (with the API), the fleet membership, the claim loop and the leader's
 * housekeeping on a built core. Refuses (throws
 * UnsafeListenError) to serve the API without a token on a non-loopback address.
 */
export async function startDaemon(core: Core, options: DaemonOptions = {}): Promise<Daemon> {
  const { config, logger, metrics, claimLoop, fleet, db } = core;
  assertSafeListen(config.http);
  let lastSweepAt: Date | null = null;

  const health = async (): Promise<HealthReport> => {
    let database: HealthReport['database'] = 'ok';
    try {
      await db.knex.raw('select 1');
    } catch (error) {
      database = 'unreachable';
      logger.warn({ err: toError(error) }, 'health check: database unreachable');
    }
    return {
      ok: database === 'ok',
      database,
      lastSweepAt: lastSweepAt?.toISOString() ?? null,
      sweepRunning: claimLoop.busy,
    };
  };

  const http = await buildHttpServer({
    config: config.http,
    logger,
    metrics,
    health,
    version: VERSION,
    plugins: [apiPlugin(core), consolePlugin(core), ...(options.plugins ?? [])],
  });
  const url = await http.listen({ host: config.http.host, port: config.http.port });
  claimLoop.onRound = (at) => {
    lastSweepAt = at;
  };
  // Heartbeat first: the per-host share and the leader are known before the first claim, and the
  // leader has loaded the per-account series from the database (the others export none).
  await fleet.start();
  if (config.scheduler.enabled) claimLoop.start();
  core.housekeeping.start();
  logger.info(
    {
      url,
      database: db.describe,
      leader: fleet.isLeader,
      checkIntervalSeconds: config.scheduler.checkIntervalSeconds,
      pruneSchedule: config.history.pruneSchedule,
    },
    `mailmon listening on ${url}`,
  );

  let stopping: Promise<void> | null = null;
  return {
    url,
    abort: () => claimLoop.abort(),
    // Reverse order of creation: no new claims, drain checks, leave the fleet, close HTTP, then the database.
    stop: () =>
      (stopping ??= (async () => {
        await claimLoop.stop();
        await core.housekeeping.stop();
        await fleet.stop();
        await http.close();
        await core.close();
        logger.info('mailmon stopped');
      })()),
  };
}
