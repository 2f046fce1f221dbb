// Loaded with `node --import` into every Node process the benchmark measures (mailmon itself and
// the loops). At exit it writes the process's own CPU time, peak RSS and, when asked, the number of
// SQL statements knex sent, to BENCH_STATS_FILE. Benchmark code only: nothing in src/ knows of it.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const out = process.env.BENCH_STATS_FILE;
let statements = 0;

if (process.env.BENCH_COUNT_STATEMENTS === '1') {
  // Every statement of every dialect (transactions' BEGIN/COMMIT included) goes through
  // Client.prototype.query; the mailmon process resolves the same CommonJS module.
  const require = createRequire(`${process.cwd()}/`);
  const Client = require('knex/lib/client') as { prototype: { query: (...args: unknown[]) => unknown } };
  const original = Client.prototype.query;
  Client.prototype.query = function counted(this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
}

if (out) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        maxRssKb: usage.maxRSS,
        statements,
      }),
    );
  });
}
