// The delivery round trip of one account, run after its IMAP and SMTP checks passed: send a tagged
// probe message through the account's own SMTP side to its own address (or its DeliveryTo), look
// for it over IMAP in the INBOX and the Junk folder, time it, delete it. Earlier probes that are
// still awaited are looked for too (late arrivals are measured and deleted, overdue ones are
// lost). The verdict rides on the SMTP side's result: lost is a failure, junk a warning.
import { formatReason } from '../probes/context.js';
import { ProbeError } from '../probes/errors.js';
import type { MailboxStep } from '../probes/imap.js';
import type { Probe, ProbeOptions, ProbeResult, ProbeTarget } from '../probes/types.js';
import { probeScanStep, type FoundProbe } from './mailbox-scan.js';
import { judgeDelivery, type DeliveryJudgement } from './outcome.js';
import { newProbeToken } from './probe-message.js';
import type { DeliveryStore, PendingProbe } from './store.js';

export interface DeliveryConfig {
  /** How long a check waits for its own probe message, ms. */
  waitMs: number;
  /** A probe message not seen this long after sending is lost, ms. */
  lostAfterMs: number;
  /** Pause between looks while waiting, ms. Default 250. */
  pollMs?: number;
}

export interface DeliveryDeps {
  store: DeliveryStore;
  /** Runs an IMAP session with a step after the mailbox opened (createImapSessionRunner). */
  imapSession: (target: ProbeTarget, options: ProbeOptions, step: MailboxStep) => Promise<ProbeResult>;
  /** Runs a probe the way the checker runs its own (egress policy, extra CA, per-host limit, watchdog). */
  runProbe: (probe: Probe, target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;
  /** The SMTP probe that sends the probe message (a test send with a probe tag). */
  smtpProbe: Probe;
  clock: () => Date;
}

export interface RoundTripRequest {
  accountId: number;
  imap: ProbeTarget;
  smtp: ProbeTarget;
  /** The probe message's recipient: an address that delivers into the monitored mailbox. */
  to: string;
  /** Send a new probe message (opted in or sampled); false: only look for earlier ones. */
  send: boolean;
  /** Deadline of one session (send, or look), ms; the look gets the wait on top. */
  timeoutMs: number;
}

const DEFAULT_POLL_MS = 250;

export class DeliveryRoundTrip {
  constructor(
    private readonly deps: DeliveryDeps,
    private readonly config: DeliveryConfig,
  ) {}

  /**
   * `imapResult` and `smtpResult` are the check's results; returns the SMTP result to record
   * (with the delivery facts, and the verdict when it is lost or junk). Nothing happens (the
   * result comes back as it is) when there is nothing to send or look for, or IMAP failed.
   */
  async run(req: RoundTripRequest, imapResult: ProbeResult, smtpResult: ProbeResult): Promise<ProbeResult> {
    const { store, clock } = this.deps;
    const earlier = await store.pendingProbes(req.accountId);
    if ((!req.send && earlier.length === 0) || !imapResult.ok) return smtpResult;
    let sent: PendingProbe | null = null;
    let smtp = smtpResult;
    if (req.send && smtpResult.ok) {
      const sending = await this.send(req);
      sent = sending.sent;
      if (!sending.result.ok) smtp = sending.result;
    }
    const found: FoundProbe[] = [];
    const wait = sent ? this.config.waitMs : 0;
    const step = probeScanStep(
      {
        accountId: req.accountId,
        awaited: sent?.token ?? null,
        waitMs: wait,
        pollMs: this.config.pollMs ?? DEFAULT_POLL_MS,
        wallClock: clock,
      },
      found,
    );
    const scanProbe: Probe = { protocol: 'imap', run: (t, o) => this.deps.imapSession(t, o, step) };
    const scan = await this.deps.runProbe(scanProbe, req.imap, req.timeoutMs + wait);
    const judgement = judgeDelivery({
      sent,
      earlier,
      found,
      now: clock(),
      // A look that failed half-way proves nothing about what it did not see.
      lostAfterMs: scan.ok ? this.config.lostAfterMs : Infinity,
    });
    if (judgement === null) return smtp;
    await store.removeProbes(judgement.settled);
    return withVerdict(smtp, req.smtp, judgement, this.config.lostAfterMs);
  }

  /** Records the probe, then sends it; a send that failed is forgotten again (nothing to await). */
  private async send(req: RoundTripRequest): Promise<{ sent: PendingProbe | null; result: ProbeResult }> {
    const { store, clock } = this.deps;
    const token = newProbeToken(req.accountId);
    await store.addProbe(req.accountId, { token, sentAt: clock() });
    const target: ProbeTarget = { ...req.smtp, testSend: { to: req.to, probeTag: token } };
    const result = await this.deps.runProbe(this.deps.smtpProbe, target, req.timeoutMs);
    if (result.ok) return { sent: { token, sentAt: clock() }, result };
    await store.removeProbes([token]);
    return { sent: null, result: asQuotaRefusal(result, req.smtp) };
  }
}

/** The SMTP result with the delivery facts; lost becomes a failure, junk a warning. */
function withVerdict(
  smtp: ProbeResult,
  target: ProbeTarget,
  { facts, lost }: DeliveryJudgement,
  lostAfterMs: number,
): ProbeResult {
  const result: ProbeResult = { ...smtp, delivery: facts };
  if (!smtp.ok) return result;
  if (facts.outcome === 'lost' && lost) {
    const minutes = Math.round(lostAfterMs / 60_000);
    const detail = `sent ${lost.sentAt.toISOString()} to the mailbox, not in INBOX or Junk after ${minutes} min`;
    return {
      ...result,
      ok: false,
      code: 'delivery_lost',
      phase: 'data',
      reason: formatReason(target, 'delivery_lost', detail),
    };
  }
  if (facts.outcome === 'junk' && !smtp.warning) {
    const after = facts.latencyMs === null ? '' : ` after ${(facts.latencyMs / 1000).toFixed(1)} s`;
    const detail = `arrived in ${facts.folder ?? 'Junk'}${after}`;
    return {
      ...result,
      warning: { code: 'delivery_junk', reason: formatReason(target, 'delivery_junk', detail) },
    };
  }
  return result;
}

/** 552 5.2.2 / 452 4.2.2 (RFC 3463: mailbox full) at RCPT or DATA: the mailbox's quota, not the send. */
function asQuotaRefusal(result: ProbeResult, target: ProbeTarget): ProbeResult {
  const said = `${result.response?.code ?? ''} ${result.response?.text ?? ''}`;
  if (result.code !== 'send_rejected' || !/\b[45]\.2\.2\b|quota/i.test(said)) return result;
  const detail = `the server refused the delivery probe: ${said.trim()}`;
  return {
    ...result,
    code: 'quota_exceeded',
    reason: formatReason(target, 'quota_exceeded', detail),
    cause: new ProbeError('quota_exceeded', result.phase ?? 'rcpt', detail, { cause: result.cause }),
  };
}
