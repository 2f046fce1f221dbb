// Database errors without their SQL. knex rewrites a failed query's error message to
// `<the SQL with every value filled in> - <driver message>`, and mysql2 errors also carry the SQL in
// `sql`: a failed `update service_auth set password = 'mm1:…'` would put a secret's ciphertext (or
// a user name, an address) in the log. These helpers reduce such an error to its code and the
// driver's own message (`ER_DATA_TOO_LONG: Data too long for column 'username' at row 1`).

/**
 * Errors whose message knex rewrote: knex says so itself with its 'query-error' event, which
 * openDatabase (db/connection.ts) hands to markQueryError. No guessing from the message's shape.
 */
const queryErrors = new WeakSet<Error>();

/** Listener for knex's 'query-error' event: the error's message now starts with the query's SQL. */
export function markQueryError(error: unknown): void {
  if (error instanceof Error) queryErrors.add(error);
}

interface DriverErrorFields {
  code?: unknown;
  sqlMessage?: unknown;
  sql?: unknown;
}

/** True for an error that carries SQL: one knex rewrote (see markQueryError), or one with mysql2's `sql`. */
export function isDatabaseError(err: Error): boolean {
  return queryErrors.has(err) || typeof (err as DriverErrorFields).sql === 'string';
}

/**
 * The error's message fit for a log line: for a database error `<code>: <driver message>` (mysql2's
 * `sqlMessage`; otherwise what follows knex's last " - ", which is always a piece of the driver's
 * message, never SQL); any other error's message as it is.
 */
export function safeErrorMessage(err: Error): string {
  if (!isDatabaseError(err)) return err.message;
  const { code, sqlMessage } = err as DriverErrorFields;
  const separator = err.message.lastIndexOf(' - ');
  const driverMessage =
    typeof sqlMessage === 'string'
      ? sqlMessage
      : separator >= 0
        ? err.message.slice(separator + 3)
        : err.message;
  return typeof code !== 'string' || driverMessage.startsWith(`${code}:`)
    ? driverMessage
    : `${code}: ${driverMessage}`;
}

/**
 * The error's stack with its first line(s) (`Name: message`, where the message may have been
 * rewritten) replaced by the safe message; the frames are kept.
 */
export function safeErrorStack(err: Error): string | undefined {
  if (typeof err.stack !== 'string') return undefined;
  if (!isDatabaseError(err)) return err.stack;
  const frames = err.stack.search(/\n\s+at /);
  return `${err.name}: ${safeErrorMessage(err)}${frames >= 0 ? err.stack.slice(frames) : ''}`;
}

const MAX_CAUSES = 10;

/**
 * A copy of `err` and its cause chain for a serializer: every database error in the chain with
 * its safe message and stack and without SQL properties. Other errors are copied unchanged. The
 * copies keep their prototypes (so the serialized `type` is still `SqliteError`, `Error`, …) and
 * the input is never changed. Returns `err` itself when nothing in the chain is a database error.
 */
export function withoutSql<T extends Error>(err: T): T {
  return copyChain(err, MAX_CAUSES, new Set()) as T;
}

function copyChain(err: Error, depth: number, seen: Set<Error>): Error {
  if (seen.has(err)) return err;
  seen.add(err);
  const cause: unknown = (err as { cause?: unknown }).cause;
  const safeCause = cause instanceof Error && depth > 0 ? copyChain(cause, depth - 1, seen) : cause;
  const database = isDatabaseError(err);
  if (!database && safeCause === cause) return err;

  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error;
  for (const key of Object.keys(err)) {
    if (database && key === 'sql') continue;
    (copy as unknown as Record<string, unknown>)[key] = (err as unknown as Record<string, unknown>)[key];
  }
  const define = (key: string, value: unknown): void => {
    Object.defineProperty(copy, key, { value, enumerable: false, writable: true, configurable: true });
  };
  define('name', err.name);
  define('message', database ? safeErrorMessage(err) : err.message);
  define('stack', database ? safeErrorStack(err) : err.stack);
  if (cause !== undefined) define('cause', safeCause);
  return copy;
}
