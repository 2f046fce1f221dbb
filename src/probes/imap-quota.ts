// The IMAP check's quota step (RFC 2087/9208): when the server advertises QUOTA, read the quota
// root of the opened mailbox and judge it. A nearly full mailbox still logs in, so it is a warning
// on an ok result; a full one bounces mail, so it is a failure with its own code.
import type { ImapFlow } from 'imapflow';
import { formatReason, type CheckContext } from './context.js';
import { ProbeError } from './errors.js';
import type { QuotaFacts } from './mailbox-facts.js';
import type { ProbeResult } from './types.js';

/** probes.quotaWarningPercent's default, as a ratio. */
export const DEFAULT_QUOTA_WARNING_RATIO = 0.9;

interface Resource {
  usage?: number;
  limit?: number;
}

function resource(value: unknown): Resource | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { usage, limit } = value as Resource;
  return {
    usage: Number.isFinite(usage) ? usage : undefined,
    limit: Number.isFinite(limit) ? limit : undefined,
  };
}

/**
 * The quota root of `mailbox`, or undefined when the server does not advertise QUOTA or reports no
 * resource with a limit. A failing GETQUOTAROOT is only noted: quota is extra to the login check.
 */
export async function readQuota(
  ctx: CheckContext,
  client: ImapFlow,
  mailbox: string,
): Promise<QuotaFacts | undefined> {
  if (!client.capabilities.has('QUOTA')) return undefined;
  const answer = await ctx.deadline.race(client.getQuota(mailbox));
  if (!answer) {
    ctx.transcript.note('GETQUOTAROOT gave no quota');
    return undefined;
  }
  return toQuotaFacts(answer.quotaRoot ?? '', resource(answer.storage), resource(answer.message));
}

/** Pure: imapflow's resources (storage in bytes) → QuotaFacts; undefined without a usable limit. */
export function toQuotaFacts(
  root: string,
  storage: Resource | undefined,
  message: Resource | undefined,
): QuotaFacts | undefined {
  const ratios = [storage, message]
    .filter((r): r is Required<Resource> => r?.limit !== undefined && r.limit > 0 && r.usage !== undefined)
    .map((r) => r.usage / r.limit);
  if (ratios.length === 0) return undefined;
  return {
    root,
    storageUsedBytes: storage?.usage ?? null,
    storageLimitBytes: storage?.limit ?? null,
    messages: message?.usage ?? null,
    messageLimit: message?.limit ?? null,
    usageRatio: Math.max(...ratios),
  };
}

/** "93 % used: 93 of 100 KiB, 12 of 1000 messages" */
export function describeQuota(q: QuotaFacts): string {
  const parts: string[] = [];
  if (q.storageLimitBytes !== null && q.storageUsedBytes !== null)
    parts.push(`${kib(q.storageUsedBytes)} of ${kib(q.storageLimitBytes)} KiB`);
  if (q.messageLimit !== null && q.messages !== null)
    parts.push(`${q.messages} of ${q.messageLimit} messages`);
  return `${Math.floor(q.usageRatio * 100)} % used: ${parts.join(', ')}`;
}

const kib = (bytes: number): number => Math.round(bytes / 1024);

/**
 * The check's result once the quota is known. At or over 100 % no further message fits, so new
 * mail bounces: quota_exceeded. At or above the warning ratio: ok with a quota_nearly_full warning.
 */
export function quotaResult(
  ctx: CheckContext,
  quota: QuotaFacts | undefined,
  warningRatio: number,
): ProbeResult {
  if (quota === undefined) return ctx.succeed();
  if (quota.usageRatio >= 1) {
    return { ...ctx.fail(new ProbeError('quota_exceeded', 'mailbox', describeQuota(quota))), quota };
  }
  if (quota.usageRatio >= warningRatio) {
    const reason = formatReason(ctx.target, 'quota_nearly_full', describeQuota(quota));
    return { ...ctx.succeed(), quota, warning: { code: 'quota_nearly_full', reason } };
  }
  return { ...ctx.succeed(), quota };
}
