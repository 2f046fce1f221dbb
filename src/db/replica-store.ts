// Heartbeats (how many replicas share the database, so each takes its share of the per-host limits)
// and named leases (the leader). Database clock throughout, like the claims.
import type { Knex } from 'knex';
import { dbNowSql } from './sweep-store.js';

const REPLICA = 'mailmon_replica';
const LEASE = 'mailmon_lease';

export class ReplicaStore {
  private readonly now: string;

  constructor(private readonly knex: Knex) {
    this.now = dbNowSql(knex);
  }

  /** Records that `replicaId` is alive now; returns the database's clock, ms. */
  async heartbeat(replica: { id: string; host: string; pid: number; startedAt: number }): Promise<number> {
    const now = await this.dbNow();
    await this.knex(REPLICA)
      .insert({
        replica_id: replica.id,
        host: replica.host.slice(0, 255),
        pid: replica.pid,
        started_at: replica.startedAt,
        heartbeat_at: now,
      })
      .onConflict('replica_id')
      .merge(['heartbeat_at']);
    return now;
  }

  /** Replicas whose last heartbeat is younger than `windowMs`; older rows are removed. */
  async liveReplicas(windowMs: number, now: number): Promise<number> {
    await this.knex(REPLICA)
      .where('heartbeat_at', '<', now - windowMs * 10)
      .del();
    const [row] = (await this.knex(REPLICA)
      .count({ n: '*' })
      .where('heartbeat_at', '>=', now - windowMs)) as { n: number | string }[];
    return Number(row?.n ?? 0);
  }

  async leave(replicaId: string): Promise<void> {
    await this.knex(REPLICA).where('replica_id', replicaId).del();
  }

  /** Takes or renews the named lease for `leaseMs`; true while `owner` holds it. */
  async holdLease(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const changed = await this.knex(LEASE)
      .where('name', name)
      .where((q) => q.where('owner', owner).orWhereRaw(`lease_until < ${this.now}`))
      .update({ owner, lease_until: this.knex.raw(`${this.now} + ?`, [leaseMs]) });
    return changed === 1;
  }

  /** Gives the named lease up (shutdown), so another replica takes over at once. */
  async dropLease(name: string, owner: string): Promise<void> {
    await this.knex(LEASE).where({ name, owner }).update({ owner: null, lease_until: 0 });
  }

  private async dbNow(): Promise<number> {
    const result = (await this.knex.raw(`SELECT ${this.now} AS now`)) as unknown;
    const rows = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as {
      now: number | string;
    }[];
    return Number(rows[0]?.now);
  }
}
