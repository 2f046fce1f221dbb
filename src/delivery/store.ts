/** A probe message that was sent (or was about to be) and has not been seen yet. */
export interface PendingProbe {
  token: string;
  sentAt: Date;
}

/** The storage seam of the delivery round trip (knex behind it: src/db/delivery-store.ts). */
export interface DeliveryStore {
  /** Records a probe message before it is sent; a crash after sending then leaves a record. */
  addProbe(accountId: number, probe: PendingProbe): Promise<void>;
  /** The account's probe messages not seen yet, oldest first. */
  pendingProbes(accountId: number): Promise<PendingProbe[]>;
  /** Forgets probe messages that arrived, were declared lost, or were never sent. */
  removeProbes(tokens: readonly string[]): Promise<void>;
}
