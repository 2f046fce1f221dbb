import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { redactCredentials, stripUrlCredentials } from '../security/redact.js';
import { safeErrorMessage, withoutSql } from './safe-error.js';

export type { Logger } from 'pino';

export interface LoggerConfig {
  /** pino level name: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'. */
  level: string;
  /** Human-readable output through pino-pretty (in-process); JSON lines otherwise. */
  pretty: boolean;
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/**
 * The process logger. Credential fields (CREDENTIAL_FIELDS, any case, any depth; in log objects,
 * child bindings and serialized errors) print as "****"; every string, including messages and
 * error messages and stacks, loses URL credentials (`smtp://u:p@h`), because libraries quote
 * connection URLs in their errors. Database errors (under `err`/`error`, or logged themselves) show
 * their code and the driver's message, never knex's SQL with its values (see safe-error.ts). Secrets outside credential fields (a password inside a server
 * response) are the caller's to mask with scrubSecrets before logging.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    // Not pino's `redact`: its wildcard paths cost ~170 µs a line; see LOG_REDACT_PATHS.
    formatters: { log: redactCredentials },
    serializers: { err: safeErrorSerializer, error: safeErrorSerializer },
    hooks: {
      logMethod(args, method) {
        return method.apply(this, withSafeMessage(args) as Parameters<typeof method>);
      },
    },
  };
  const logger = config.pretty
    ? pino(options, pretty({ destination: config.destination ?? 1, sync: true }))
    : config.destination
      ? pino(options, config.destination)
      : pino(options);
  // pino runs formatters.bindings on the root's bindings only, never on a child's: redact those on
  // the way in. Children are Object.create(parent), so grandchildren inherit this wrapper too.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactCredentials(bindings), childOptions);
  } as Logger['child'];
  return logger;
}

/**
 * The log call's arguments with URL credentials stripped from its message. pino takes the message
 * from a string argument, else from `obj.msg`, else from the error's own message (`logger.error(err)`,
 * `logger.error({ err })`), past the serializers: those cases get an explicit clean message.
 */
function withSafeMessage(args: unknown[]): unknown[] {
  const cleaned = args.map((arg) => (typeof arg === 'string' ? stripUrlCredentials(arg) : arg));
  const [first] = cleaned;
  if (cleaned.length !== 1 || typeof first !== 'object' || first === null) return cleaned;
  if (first instanceof Error) return [first, stripUrlCredentials(safeErrorMessage(first))];
  const { msg, err } = first as { msg?: unknown; err?: { message?: unknown } };
  if (typeof msg === 'string') return [{ ...first, msg: stripUrlCredentials(msg) }];
  if (msg === undefined && typeof err?.message === 'string') {
    const message = err instanceof Error ? safeErrorMessage(err) : err.message;
    return [first, stripUrlCredentials(message)];
  }
  return cleaned;
}

type SerializedError = ReturnType<typeof stdSerializers.err>;

/**
 * pino's error serializer (message and stack include causes) on a copy without SQL (a database
 * error in the chain shows as `<code>: <driver message>`, see safe-error.ts), then redacted like
 * any log object.
 */
function safeErrorSerializer(err: Error): SerializedError {
  return redactCredentials(stdSerializers.err(err instanceof Error ? withoutSql(err) : err));
}
