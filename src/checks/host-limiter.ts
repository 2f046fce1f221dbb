import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Caps concurrent work per server host (providers throttle logins per source). Limiters are made
 * on first use and dropped when idle, so the map does not grow with every host ever seen.
 */
export class HostLimiter {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(private perHost: number) {}

  /** Change the per-host cap (a replica's share of the fleet's limit), for running and new hosts alike. */
  setPerHost(perHost: number): void {
    this.perHost = Math.max(1, Math.floor(perHost));
    for (const limit of this.limits.values()) limit.concurrency = this.perHost;
  }

  get perHostLimit(): number {
    return this.perHost;
  }

  async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    const key = host.toLowerCase();
    let limit = this.limits.get(key);
    if (limit === undefined) {
      limit = pLimit(this.perHost);
      this.limits.set(key, limit);
    }
    try {
      return await limit(fn);
    } finally {
      if (limit.activeCount === 0 && limit.pendingCount === 0) this.limits.delete(key);
    }
  }
}
