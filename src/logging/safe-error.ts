// Database errors without their SQL. knex rewrites a failed query's error message to
// `<the SQL with every value filled in> - <driver message>`, and mysql2 errors also carry the SQL in
// `sql`: a failed `update service_auth set password = 'mm1:…'` would put a secret's ciphertext (or
// a user name, an address) in the log. These helpers reduce such an error to its code and the
// driver's own message (`ER_DATA_TOO_LONG: Data too long for column 'username' at row 1`).

/** Statements knex sends; a message that starts with one and holds " - " is knex's rewrite. */
const SQL_PREFIX =
  /^\s*\(?\s*(?:select|insert|update|delete|replace|with|create|alter|drop|truncate|pragma|begin|commit|rollback|savepoint|release|set|show|lock|unlock|call)\b[\s\S]* - /i;

/** Properties of driver errors that hold SQL text (mysql2: `sql`). */
const SQL_PROPERTIES = new Set(['sql']);

interface DriverErrorFields {
  code?: unknown;
  errno?: unknown;
  sqlMessage?: unknown;
  sqlState?: unknown;
  sql?: unknown;
}

/**
 * True for an error from a database driver: mysql2 (`sqlMessage`, `sqlState`, `sql`),
 * better-sqlite3 (SqliteError, `SQLITE_*` code), or an error with a `code` (as driver errors have,
 * e.g. mysql2's PROTOCOL_CONNECTION_LOST) whose message knex prefixed with SQL.
 */
export function isDatabaseError(err: Error): boolean {
  const fields = err as DriverErrorFields;
  return (
    typeof fields.sqlMessage === 'string' ||
    typeof fields.sqlState === 'string' ||
    typeof fields.sql === 'string' ||
    err.name === 'SqliteError' ||
    (typeof fields.code === 'string' && (fields.code.startsWith('SQLITE_') || SQL_PREFIX.test(err.message)))
  );
}

/**
 * The error's message fit for a log line: for a database error `<code>: <driver message>` (mysql2's
 * `sqlMessage`; otherwise what follows knex's last " - ", which is always a piece of the driver's
 * message, never SQL); any other error's message as it is.
 */
export function safeErrorMessage(err: Error): string {
  if (!isDatabaseError(err)) return err.message;
  const fields = err as DriverErrorFields;
  const separator = err.message.lastIndexOf(' - ');
  const driverMessage =
    typeof fields.sqlMessage === 'string'
      ? fields.sqlMessage
      : separator >= 0
        ? err.message.slice(separator + 3)
        : SQL_PREFIX.test(err.message)
          ? 'database error'
          : err.message;
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  return code === undefined || driverMessage.startsWith(`${code}:`)
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
    if (database && SQL_PROPERTIES.has(key)) continue;
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
