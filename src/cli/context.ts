import { createCore, type AppOptions, type Core } from '../app.js';
import { ExtraCaError } from '../checks/extra-ca.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { KeyConfigError, SecretDecryptError } from '../crypto/errors.js';
import { createLogger, type Logger } from '../logging/logger.js';

/** Exit codes: 0 all good, 1 a tested account failed, 2 usage, config or input error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI reports as one sentence with an exit code (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** Set by a command that wants a non-zero exit without an error message (e.g. check: 1). */
  exitCode?: number;
}

export function configFrom(io: CliIo, overrides: Record<string, unknown> = {}): Readonly<Config> {
  try {
    return loadConfig({ env: io.env, overrides });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * The daemon logs to stdout (what log shippers collect); the other commands log to stderr so that
 * stdout stays machine-readable (--json), and only warnings unless the level asks for more.
 */
export function loggerFor(
  config: Readonly<Config>,
  io: CliIo,
  mode: 'daemon' | 'command' = 'command',
): Logger {
  const destination = mode === 'daemon' ? io.stdout : io.stderr;
  const pretty =
    config.log.format === 'pretty' || (config.log.format === 'auto' && destination.isTTY === true);
  return createLogger({
    level: mode === 'command' && config.log.level === 'info' ? 'warn' : config.log.level,
    pretty,
    destination,
  });
}

/** Builds the core for a CLI command and always closes it. */
export async function withCore<T>(
  io: CliIo,
  fn: (core: Core) => Promise<T>,
  options: Partial<AppOptions> = {},
): Promise<T> {
  const config = configFrom(io);
  const logger = loggerFor(config, io);
  const core = await openCore({ config, logger, ...options });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

export async function openCore(options: AppOptions): Promise<Core> {
  try {
    return await createCore(options);
  } catch (error) {
    throw asCliError(error);
  }
}

/** Known start-up failures become one sentence; anything else stays an error with its cause. */
export function asCliError(error: unknown): unknown {
  if (error instanceof KeyConfigError || error instanceof SecretDecryptError) {
    return new CliError(`secret key: ${error.message}`);
  }
  if (error instanceof ExtraCaError) return new CliError(error.message);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR') {
    return new CliError(`database: cannot connect (${code}); check MAILMON_DATABASE_URL`);
  }
  return error;
}
