import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** 1 ms .. 5 s: a claim is one short transaction. */
const CLAIM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * What each replica exports about its own share of the work (sum them without `instance`), and the
 * fleet-wide values only the leader exports (`mailmon_schedule_lag_seconds`).
 */
export function createReplicaMetrics(registry: Registry) {
  const registers = [registry];
  let lag: number | null = null;
  const families = {
    claims: new Counter({
      name: 'mailmon_claims_total',
      help: 'Accounts this replica claimed for a check (scheduled or manual).',
      registers,
    }),
    claimDuration: new Histogram({
      name: 'mailmon_claim_duration_seconds',
      help: 'Time of one claim transaction, seconds.',
      buckets: CLAIM_BUCKETS,
      registers,
    }),
    leaseLost: new Counter({
      name: 'mailmon_lease_lost_total',
      help: 'Results not written because this replica no longer held the account lease.',
      registers,
    }),
    dropped: new Counter({
      name: 'mailmon_results_dropped_total',
      help: 'Results not written, by reason: lease_lost (another claim took over) or edited (saved or deleted meanwhile).',
      labelNames: ['reason'],
      registers,
    }),
    abandoned: new Counter({
      name: 'mailmon_checks_abandoned_total',
      help: 'Accounts recorded as check_abandoned because their claims kept ending without a result.',
      registers,
    }),
    inFlight: new Gauge({
      name: 'mailmon_checks_in_flight',
      help: 'Checks this replica is running now.',
      registers,
    }),
    replicas: new Gauge({
      name: 'mailmon_replicas',
      help: 'Live replicas sharing the database, from their heartbeats.',
      registers,
    }),
    clockSkew: new Gauge({
      name: 'mailmon_database_clock_skew_seconds',
      help: "This host's clock minus the database's, seconds (leases and due times use the database's).",
      registers,
    }),
    leader: new Gauge({
      name: 'mailmon_leader',
      help: '1 while this replica holds the leader lease (exports per-account series, runs housekeeping).',
      registers,
    }),
    setLag(seconds: number | null): void {
      lag = seconds;
    },
  };
  for (const reason of ['lease_lost', 'edited']) families.dropped.inc({ reason }, 0);
  new Gauge({
    name: 'mailmon_schedule_lag_seconds',
    help: 'Now minus the oldest due time of any account (0 when nothing is overdue); exported by the leader only.',
    registers,
    collect() {
      this.reset();
      if (lag !== null) this.set(lag);
    },
  });
  return families;
}
