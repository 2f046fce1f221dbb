// knex's better-sqlite3 dialect calls connection.prepare(sql) for every query, so SQLite parses and
// plans the same few statements again on every check (about 0.2 ms each time). Keeping the prepared
// statements per connection, keyed by their SQL text, removes that. Safe because knex runs each
// statement to completion (all() or run(), synchronous) before the next one, SQLite re-prepares a
// statement itself after a schema change, and knex's only per-call setting (safeIntegers) is set
// again on every call when it is used at all.

/** Distinct SQL texts kept per connection; mailmon uses a few dozen, ad-hoc SQL evicts the oldest. */
export const MAX_CACHED_STATEMENTS = 256;

interface Preparer {
  prepare(sql: string): unknown;
}

/** Makes `conn.prepare` return the cached statement for SQL it has prepared before. */
export function cachePreparedStatements<T extends Preparer>(conn: T, max = MAX_CACHED_STATEMENTS): T {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      cache.set(sql, statement);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    return statement;
  };
  return conn;
}
