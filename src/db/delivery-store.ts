import type { Knex } from 'knex';
import type { DeliveryStore, PendingProbe } from '../delivery/store.js';

const TABLE = 'delivery_probe';

interface ProbeRow {
  token: string;
  sent_at: number | string;
}

export class KnexDeliveryStore implements DeliveryStore {
  constructor(private readonly knex: Knex) {}

  async addProbe(accountId: number, probe: PendingProbe): Promise<void> {
    await this.knex(TABLE).insert({
      email_account_id: accountId,
      token: probe.token,
      sent_at: probe.sentAt.getTime(),
    });
  }

  async pendingProbes(accountId: number): Promise<PendingProbe[]> {
    const rows = await this.knex<ProbeRow>(TABLE)
      .where('email_account_id', accountId)
      .select('token', 'sent_at')
      .orderBy([{ column: 'sent_at' }, { column: 'delivery_probe_id' }]);
    return rows.map((r) => ({ token: r.token, sentAt: new Date(Number(r.sent_at)) }));
  }

  async removeProbes(tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) return;
    await this.knex(TABLE).whereIn('token', tokens).del();
  }
}
