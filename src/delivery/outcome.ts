// Pure: what a delivery round trip found, judged. Which probe messages arrived (and how late),
// which are still awaited, which are lost, and the one outcome the check reports.
import type { DeliveryArrival, DeliveryFacts } from '../probes/mailbox-facts.js';
import type { FoundProbe } from './mailbox-scan.js';
import type { PendingProbe } from './store.js';

export interface DeliveryEvidence {
  /** The probe message this check sent (accepted by SMTP); null when it sent none. */
  sent: PendingProbe | null;
  /** Probe messages of earlier checks still awaited when this one started. */
  earlier: readonly PendingProbe[];
  /** Every probe message the scan found and deleted. */
  found: readonly FoundProbe[];
  now: Date;
  lostAfterMs: number;
}

export interface DeliveryJudgement {
  facts: DeliveryFacts;
  /** Tokens settled (arrived or lost): no longer awaited. */
  settled: string[];
  /** The probe declared lost by this check (the oldest, when several), for the reason. */
  lost: PendingProbe | null;
}

/**
 * Precedence: a probe declared lost now makes the check "lost" (once: it is settled), whatever
 * else arrived; then this check's own probe (junk, delivered); then, for a check that sent none,
 * the latest late arrival; otherwise "pending".
 */
export function judgeDelivery(e: DeliveryEvidence): DeliveryJudgement | null {
  const byToken = new Map(e.found.map((f) => [f.token, f]));
  const known = new Map([...e.earlier, ...(e.sent ? [e.sent] : [])].map((p) => [p.token, p]));
  const arrivals: DeliveryArrival[] = e.found.map((f) => {
    const probe = known.get(f.token);
    return {
      latencyMs: probe ? latencyOf(probe, f, probe === e.sent) : null,
      junk: f.junk,
      late: probe !== e.sent,
    };
  });
  const waiting = e.earlier.filter((p) => !byToken.has(p.token));
  const lost = waiting.filter((p) => e.now.getTime() - p.sentAt.getTime() >= e.lostAfterMs);
  const stillPending = waiting.length - lost.length + (e.sent && !byToken.has(e.sent.token) ? 1 : 0);
  const settled = [
    ...e.found.filter((f) => known.has(f.token)).map((f) => f.token),
    ...lost.map((p) => p.token),
  ];
  const facts = (
    outcome: DeliveryFacts['outcome'],
    probe: PendingProbe,
    found: FoundProbe | undefined,
  ): DeliveryJudgement => ({
    facts: {
      outcome,
      sentAt: probe.sentAt.toISOString(),
      latencyMs: found ? latencyOf(probe, found, probe === e.sent) : null,
      folder: found?.folder ?? null,
      arrivals,
      pending: stillPending,
    },
    settled,
    lost: lost[0] ?? null,
  });

  if (lost[0]) return facts('lost', lost[0], undefined);
  const own = e.sent ? byToken.get(e.sent.token) : undefined;
  if (e.sent && own) return facts(own.junk ? 'junk' : 'delivered', e.sent, own);
  if (e.sent) return facts('pending', e.sent, undefined);
  const late = [...e.earlier].reverse().find((p) => byToken.has(p.token));
  if (late) {
    const found = byToken.get(late.token) as FoundProbe;
    return facts(found.junk ? 'junk' : 'delivered', late, found);
  }
  if (waiting[0]) return facts('pending', waiting[0], undefined);
  return null;
}

/**
 * This check's own probe: when the scan first saw it (ms precision, at most one poll late). An
 * earlier check's: the server's INTERNALDATE (second precision), else when it was seen.
 */
function latencyOf(probe: PendingProbe, found: FoundProbe, own: boolean): number {
  const arrived = !own && found.internalDate ? found.internalDate : found.seenAt;
  return Math.max(0, arrived.getTime() - probe.sentAt.getTime());
}
