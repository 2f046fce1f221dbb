// Loaded with `node --import` into every Node process the benchmark measures (mailmon itself and
// the loops). At exit it writes the process's own CPU time, peak RSS and, when asked, the number of
// SQL statements knex sent and the commits among them (COMMITs and autocommitted writes), to BENCH_STATS_FILE. Benchmark code only: nothing in src/ knows of it.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const out = process.env.BENCH_STATS_FILE;
let statements = 0;
let commits = 0;

if (process.env.BENCH_COUNT_STATEMENTS === '1') {
  // Every statement of every dialect (transactions' BEGIN/COMMIT included) goes through
  // Client.prototype.query; the mailmon process resolves the same CommonJS module.
  const require = createRequire(`${process.cwd()}/`);
  const Client = require('knex/lib/client') as {
    prototype: { query: (connection: unknown, query: unknown) => unknown };
  };
  const original = Client.prototype.query;
  Client.prototype.query = function counted(this: unknown, connection: unknown, query: unknown) {
    statements++;
    // Commits: every COMMIT of a knex transaction, and every write outside one (autocommit).
    const sql = typeof query === 'string' ? query : String((query as { sql?: unknown } | null)?.sql ?? '');
    const inTransaction = (connection as { __knexTxId?: unknown } | null)?.__knexTxId !== undefined;
    if (/^\s*commit\b/i.test(sql) || (!inTransaction && /^\s*(insert|update|delete|replace)\b/i.test(sql)))
      commits++;
    return original.call(this, connection, query);
  };
}

function write(file: string): void {
  const usage = process.resourceUsage();
  writeFileSync(
    file,
    JSON.stringify({
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      maxRssKb: usage.maxRSS,
      statements,
      commits,
    }),
  );
}

if (out) {
  process.on('exit', () => write(out));
  // A snapshot on demand (to `<file>.snap`), so a long-lived daemon's counts can be taken over a window.
  process.on('SIGUSR2', () => write(`${out}.snap`));
}
