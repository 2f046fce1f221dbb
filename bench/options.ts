// Command-line options of `npm run bench` (node dist/bench/run.js).
import { parseArgs } from 'node:util';

export const PHASES = ['compare', 'wrong', 'daemon', 'scale'] as const;
export type Phase = (typeof PHASES)[number];
export const DBS = ['sqlite', 'mariadb'] as const;

export interface BenchOptions {
  accounts: number[];
  concurrency: number[];
  reps: number;
  /** Peer jobs (check_simap, nodemailer, blackbox) do at most this many checks per job. */
  peerChecks: number;
  scaleAccounts: number;
  phases: Phase[];
  dbs: (typeof DBS)[number][];
  quick: boolean;
  out: string | null;
  cpuProf: boolean;
  /** IMAP modes of mailmon in the daemon and scale phases. */
  modes: ('full' | 'login')[];
  /** mailmon's metrics.perAccountSeries in every run. */
  perAccountSeries: 'all' | 'none';
}

export const HELP = `Usage: npm run bench -- [options]     (or: node dist/bench/run.js [options] after npm run build:bench)

Measures mailmon side by side with the floor (bare imapflow and nodemailer loops) and the tools ops
use today (Prometheus blackbox_exporter, monitoring-plugins check_simap), each as its own process at
equal concurrency, interleaved, and writes bench/results/<date>-<host>.md. It starts its own peers:
a Dovecot tuned for throughput (imaps + submission), a tiny instant IMAP server, blackbox_exporter;
it uses MariaDB at 127.0.0.1:3306 (root, no password) and SQLite files in a temp dir.

Options:
  --accounts N[,N...]     accounts per sweep in the compare and daemon phases (default 2000,10000)
  --concurrency C[,C...]  concurrency of every tool (default 8,32)
  --reps R                repetitions of each measurement, interleaved (default 2)
  --peer-checks N         cap on checks per job of check_simap, nodemailer and blackbox (default 2000):
                          one process per check_simap check is slow and they are rates anyway
  --scale N               accounts of the simulated sweep against the instant server (default 100000)
  --phase P[,P...]        compare, wrong, daemon, scale (default all). compare: check --all and the
                          peers; wrong: wrong-password timing per tool; daemon: the scheduled sweep
                          of serve with GET /metrics; scale: N accounts against the instant server
  --db D[,D...]           sqlite, mariadb (default both)
  --per-account-series S  mailmon's metrics.perAccountSeries: all (default) or none
  --modes M[,M...]        mailmon IMAP modes in the daemon and scale phases: full, login (default both)
  --quick                 smoke run under a minute (CI): 40 accounts, C=8, 1 rep, scale 300,
                          one database and one mode where a phase would repeat itself
  --cpu-prof              also write a node --cpu-prof profile of one mailmon check --all per store
                          (to bench/results/profiles/)
  --out FILE              results file (default bench/results/<UTC date>-<host>.md)
  -h, --help              this text

Needs: dovecot, doveadm (dovecot-imapd, dovecot-submissiond), openssl, /usr/bin/time (time),
prometheus-blackbox-exporter, /usr/lib/nagios/plugins/check_simap (monitoring-plugins-basic),
MariaDB on 127.0.0.1:3306 for --db mariadb. Missing ones are named before anything runs.
The machine should be otherwise quiet; on a shared machine rely on the ratios (same run, interleaved).`;

function list(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(',').map((v) => Number(v.replace(/_/g, '')));
  if (out.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--${name} takes positive integers, got "${value}"`);
  return out;
}

function choice<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(',');
  const bad = out.filter((v) => !allowed.includes(v as T));
  if (bad.length) throw new Error(`--${name}: unknown ${bad.join(', ')} (choose from ${allowed.join(', ')})`);
  return out as T[];
}

/** Parsed options, or 'help'. Throws an Error with a sentence for bad input. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      accounts: { type: 'string' },
      concurrency: { type: 'string' },
      reps: { type: 'string' },
      'peer-checks': { type: 'string' },
      scale: { type: 'string' },
      phase: { type: 'string' },
      db: { type: 'string' },
      quick: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      out: { type: 'string' },
      modes: { type: 'string' },
      'per-account-series': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  return {
    accounts: list(values.accounts, 'accounts') ?? (quick ? [40] : [2000, 10000]),
    concurrency: list(values.concurrency, 'concurrency') ?? (quick ? [8] : [8, 32]),
    reps: list(values.reps, 'reps')?.[0] ?? (quick ? 1 : 2),
    peerChecks: list(values['peer-checks'], 'peer-checks')?.[0] ?? (quick ? 40 : 2000),
    scaleAccounts: list(values.scale, 'scale')?.[0] ?? (quick ? 300 : 100_000),
    phases: choice(values.phase, PHASES, 'phase') ?? [...PHASES],
    dbs: choice(values.db, DBS, 'db') ?? [...DBS],
    quick,
    out: values.out ?? null,
    cpuProf: values['cpu-prof'] ?? false,
    perAccountSeries:
      choice(values['per-account-series'], ['all', 'none'] as const, 'per-account-series')?.[0] ?? 'all',
    modes:
      choice(values.modes, ['full', 'login'] as const, 'modes') ?? (quick ? ['full'] : ['full', 'login']),
  };
}
