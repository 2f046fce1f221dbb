// The test endpoints' budget counts probe work, not requests: one dealer batch of 50 entries with
// both sides asks for 100 logins, an ad-hoc test of one side for one. Pure (the clock is passed in),
// so the arithmetic is unit-tested without waiting a minute.

export type BudgetDecision =
  | { readonly ok: true; readonly remaining: number; readonly resetInMs: number }
  | {
      readonly ok: false;
      readonly remaining: number;
      /** When the client's window starts over, ms; the Retry-After to send. */
      readonly resetInMs: number;
      /** The request alone needs more than a whole window allows: waiting will not help. */
      readonly exceedsWindow: boolean;
    };

interface Window {
  startedAt: number;
  used: number;
}

/**
 * A fixed window per client: `max` units of work per `windowMs`, counted from the client's first
 * request in the window. A request is charged in full or refused in full, so a batch never runs
 * half. Expired windows are dropped as clients come back and by an occasional sweep, so the map
 * holds only clients seen within the last window.
 */
export class WorkBudget {
  private readonly windows = new Map<string, Window>();
  private lastSweep = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Charge `cost` units to `client` at time `now` (ms), or refuse without charging anything. */
  take(client: string, cost: number, now: number): BudgetDecision {
    this.sweep(now);
    let window = this.windows.get(client);
    if (window === undefined || now - window.startedAt >= this.windowMs) {
      window = { startedAt: now, used: 0 };
      this.windows.set(client, window);
    }
    const resetInMs = window.startedAt + this.windowMs - now;
    const remaining = this.max - window.used;
    if (cost > remaining) {
      return { ok: false, remaining, resetInMs, exceedsWindow: cost > this.max };
    }
    window.used += cost;
    return { ok: true, remaining: remaining - cost, resetInMs };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [client, window] of this.windows) {
      if (now - window.startedAt >= this.windowMs) this.windows.delete(client);
    }
  }
}
