// The delivery round trip's IMAP step: in the account's own mailbox, find every probe message
// (INBOX and the Junk special-use folder), note where and when it arrived, and delete it. It keeps
// looking, within the wait, until the message this check sent has turned up.
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckContext } from '../probes/context.js';
import type { MailboxStep } from '../probes/imap.js';
import { PROBE_HEADER, probeSearchText, probeTokenOf } from './probe-message.js';

export interface ScanRequest {
  /** Only this account's probe messages are touched (another account may share the mailbox). */
  accountId: number;
  /** The token this check just sent: the scan waits up to `waitMs` for it. null: look once. */
  awaited: string | null;
  /** ms */
  waitMs: number;
  /** Pause between looks, ms. */
  pollMs: number;
  wallClock: () => Date;
}

export interface FoundProbe {
  token: string;
  folder: string;
  junk: boolean;
  /** The server's INTERNALDATE (when it was delivered), second precision; null when absent. */
  internalDate: Date | null;
  /** When this scan first saw it. */
  seenAt: Date;
}

interface Folder {
  path: string;
  junk: boolean;
}

/** A MailboxStep that fills `found` (deleted messages) and leaves the session's result as it is. */
export function probeScanStep(request: ScanRequest, found: FoundProbe[]): MailboxStep {
  return async (ctx, client, mailbox) => {
    const folders = await probeFolders(client, mailbox);
    ctx.transcript.note(`looking for delivery probes in ${folders.map((f) => f.path).join(', ')}`);
    const until = performance.now() + request.waitMs;
    for (;;) {
      for (const folder of folders) found.push(...(await sweepFolder(ctx, client, folder, request)));
      const done = request.awaited === null || found.some((f) => f.token === request.awaited);
      if (done || performance.now() + request.pollMs > until) break;
      await ctx.deadline.race(sleep(request.pollMs, undefined, { signal: ctx.deadline.signal }));
    }
    return () => ctx.succeed();
  };
}

/** The monitored mailbox and its Junk folder (RFC 6154 \Junk, or a Junk/Spam name imapflow knows). */
async function probeFolders(client: ImapFlow, mailbox: string): Promise<Folder[]> {
  const list = await client.list();
  const junk = list.find((entry) => entry.specialUse === '\\Junk');
  const folders: Folder[] = [{ path: mailbox, junk: false }];
  if (junk && junk.path !== mailbox) folders.push({ path: junk.path, junk: true });
  return folders;
}

async function sweepFolder(
  ctx: CheckContext,
  client: ImapFlow,
  folder: Folder,
  { accountId, wallClock }: ScanRequest,
): Promise<FoundProbe[]> {
  await ctx.deadline.race(client.mailboxOpen(folder.path));
  const uids = await ctx.deadline.race(
    client.search({ header: { [PROBE_HEADER]: probeSearchText(accountId) } }, { uid: true }),
  );
  if (!uids || uids.length === 0) return [];
  const seenAt = wallClock();
  const messages: FetchMessageObject[] = await ctx.deadline.race(
    client.fetchAll(uids, { uid: true, internalDate: true, headers: [PROBE_HEADER] }, { uid: true }),
  );
  const found: FoundProbe[] = [];
  const ours: number[] = [];
  for (const message of messages) {
    // Only messages whose header holds a token of our exact form, for this account, are deleted.
    const token = probeTokenOf(message.headers, accountId);
    if (token === null) continue;
    ours.push(message.uid);
    const date = message.internalDate ? new Date(message.internalDate) : null;
    found.push({
      token,
      folder: folder.path,
      junk: folder.junk,
      internalDate: date && Number.isFinite(date.getTime()) ? date : null,
      seenAt,
    });
  }
  if (ours.length > 0) await removeProbes(ctx, client, ours);
  return found;
}

/**
 * UID EXPUNGE removes exactly our messages. Without UIDPLUS the only expunge there is (EXPUNGE)
 * would also remove every message the user flagged \Deleted: then ours are only flagged, and
 * the user's client expunges them with its own.
 */
async function removeProbes(ctx: CheckContext, client: ImapFlow, uids: number[]): Promise<void> {
  if (client.capabilities.has('UIDPLUS')) {
    await ctx.deadline.race(client.messageDelete(uids, { uid: true }));
    return;
  }
  ctx.transcript.note('no UIDPLUS: probe messages flagged \\Deleted, not expunged');
  await ctx.deadline.race(client.messageFlagsAdd(uids, ['\\Deleted', '\\Seen'], { uid: true }));
}
