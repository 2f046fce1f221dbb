import type { Command } from 'commander';
import type { Daemon } from '../../daemon.js';
import { ExtraCaError } from '../../checks/extra-ca.js';
import { UnsafeListenError, assertSafeListen } from '../../http/auth.js';
import { toError } from '../../probes/errors.js';
import { CliError, configFrom, loggerFor, openCore, type CliIo } from '../context.js';

/** Exit code after a second signal forced the exit (128 + SIGINT, as shells report it). */
const FORCED_EXIT = 130;

export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the daemon: migrate, then sweep on schedule and serve /healthz, /metrics and the API')
    .action(async () => {
      const config = configFrom(io);
      // Before anything is opened: an API without a token must not face the network.
      try {
        assertSafeListen(config.http);
      } catch (error) {
        throw asStartupError(error);
      }
      const logger = loggerFor(config, io, 'daemon');
      let daemon: Daemon | null = null;
      let signals = 0;
      let stopRequested!: () => void;
      const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));

      // Signals are handled here and only here, from the very start (a SIGTERM during migration
      // must not kill the process half-way): the first drains, a second exits at once.
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting now');
          daemon?.abort();
          process.exit(FORCED_EXIT);
        }
        logger.info({ signal }, 'shutting down: finishing in-flight checks');
        stopRequested();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        const core = await openCore({ config, logger, runtimeMetrics: config.metrics.runtime });
        try {
          // Loaded here, not at the top: the HTTP stack (fastify, the API, swagger) is only for
          // serve, and every other command (check above all) would pay ~0.4 s to load it.
          const { startDaemon } = await import('../../daemon.js');
          daemon = await startDaemon(core);
        } catch (error) {
          await core.close();
          throw asStartupError(error);
        }
        await stopSignal;
        try {
          await daemon.stop();
        } catch (error) {
          logger.error({ err: toError(error) }, 'shutdown failed');
          io.exitCode = 1;
        }
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}

/** Start-up refusals that are configuration problems become one sentence (exit 2). */
function asStartupError(error: unknown): unknown {
  return error instanceof UnsafeListenError || error instanceof ExtraCaError
    ? new CliError(error.message)
    : error;
}
