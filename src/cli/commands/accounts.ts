import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { MAX_INT } from '../../accounts/fields.js';
import { ImportError, importAccounts, parseImport, type ImportEntry } from '../../accounts/import.js';
import type { HistoryEntry, SideCheck } from '../../accounts/repository.js';
import { AccountStatus, type EmailAccount } from '../../accounts/types.js';
import { accountJson, describeOAuth, statusName, table, when } from '../format.js';
import { CliError, withCore, type CliIo } from '../context.js';
import { describeQuota } from '../../probes/imap-quota.js';
import { registerAccountEdit } from './accounts-edit.js';

export function parseId(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_INT) {
    throw new CliError(`account id must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

function parseStatus(value: string): AccountStatus {
  const match = Object.entries(AccountStatus).find(([name]) => name.toLowerCase() === value.toLowerCase());
  if (match === undefined || typeof match[1] !== 'number') {
    throw new CliError(`--status must be one of Unknown, Deleted, Failing, Failed, Ok; got "${value}"`);
  }
  return match[1];
}

export function registerAccountCommands(program: Command, io: CliIo): void {
  const accounts = program.command('accounts').description('manage stored e-mail accounts');

  accounts
    .command('import')
    .argument('<file>', 'JSON array of SuperOffice EMailAccount objects; "-" reads standard input')
    .description(
      'create (EMailAccountId 0 or absent) or update accounts; all entries are validated first and ' +
        'nothing is stored if any is invalid. Passwords come from the file, never from the command line.',
    )
    .addHelpText(
      'after',
      `
Example file (SuperOffice EMailAccount objects; Security defaults from the port):
  [{ "EMailAddress": "sales@example.com",
     "IncomingCredentials": { "Server": "imap.example.com", "Port": 993,
                              "Username": "sales@example.com", "Password": "..." },
     "OutgoingCredentials": { "Server": "smtp.example.com", "Port": 587,
                              "Username": "sales@example.com", "Password": "..." } }]
Entries are saved by the same rules as the HTTP API's SaveEMailAccount: a Password of "****" or ""
keeps the stored one, but only while Server, Port, Username, AuthType and TLS stay as they were
(a moved server needs the password again); AcceptUnverifiedCert and CaPem left out keep the stored
values on an unmoved side. Updating a Deleted or unknown EMailAccountId is refused.
Exit 0 imported, 2 invalid input (every problem listed by entry and field; nothing stored).`,
    )
    .action(async (file: string) => {
      let content: string;
      try {
        content = file === '-' ? await text(io.stdin) : await readFile(file, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      let entries: ImportEntry[];
      try {
        entries = parseImport(content);
      } catch (error) {
        if (error instanceof ImportError) throw new CliError(`${file}: ${error.message}`);
        throw error;
      }
      await withCore(io, async ({ repo }) => {
        let ids: number[];
        try {
          ids = await importAccounts(repo, entries);
        } catch (error) {
          if (error instanceof ImportError) throw new CliError(`${file}: ${error.message}`);
          throw error;
        }
        const created = entries.filter((e) => e.draft.emailAccountId === 0).length;
        io.stdout.write(
          `imported ${ids.length} account(s): ${created} created, ${ids.length - created} updated (ids ${ids.join(', ')})\n`,
        );
      });
    });

  accounts
    .command('list')
    .description('list stored accounts with their status')
    .option('--json', 'print JSON')
    .option('--status <name>', 'only accounts with this status (Unknown, Deleted, Failing, Failed, Ok)')
    .action(async (options: { json?: boolean; status?: string }) => {
      const status = options.status === undefined ? undefined : parseStatus(options.status);
      await withCore(io, async ({ repo }) => {
        const { items, total } = await repo.listAccounts({ status, limit: 100_000 });
        if (options.json) {
          io.stdout.write(
            `${JSON.stringify(
              items.map((a) => accountJson(a)),
              null,
              2,
            )}\n`,
          );
          return;
        }
        io.stdout.write(
          table(
            ['id', 'address', 'status', 'errors', 'last check', 'next due', 'reason'],
            items.map((a) => [
              a.emailAccountId,
              a.emailAddress,
              statusName(a.accountStatus),
              a.errorCount,
              when(a.lastCheckAt),
              `${when(a.nextDueAt)}${backoffNote(a)}`,
              a.errorReason || '-',
            ]),
          ),
        );
        io.stdout.write(`${total} account(s)\n`);
      });
    });

  accounts
    .command('show')
    .argument('<id>', 'account id')
    .description('show one account, its last results per side and recent history')
    .option('--json', 'print JSON')
    .option('--transcript', 'include the last check’s protocol transcript (secrets masked)')
    .action(async (idText: string, options: { json?: boolean; transcript?: boolean }) => {
      const id = parseId(idText);
      await withCore(io, async ({ repo }) => {
        const account = await repo.getAccount(id);
        if (account === null) throw new CliError(`account ${id} does not exist`);
        const lastChecks = await repo.lastChecks(id);
        const history = await repo.history(id, { limit: 10 });
        if (options.json) {
          const checks = lastChecks.map((c) =>
            options.transcript || c.details === null
              ? c
              : { ...c, details: { ...c.details, transcript: [] } },
          );
          io.stdout.write(`${JSON.stringify({ ...accountJson(account, checks), history }, null, 2)}\n`);
          return;
        }
        io.stdout.write(renderAccount(account, lastChecks, history, options.transcript === true));
      });
    });

  registerAccountEdit(accounts, io);

  accounts
    .command('delete')
    .argument('<id>', 'account id')
    .description('mark an account Deleted: it is no longer tested and its metrics disappear')
    .action(async (idText: string) => {
      const id = parseId(idText);
      await withCore(io, async ({ repo }) => {
        if (!(await repo.markDeleted(id))) throw new CliError(`account ${id} does not exist`);
        io.stdout.write(`account ${id} marked Deleted\n`);
      });
    });
}

/** Quota, delivery round trip and warning of a side, one line each (issue 12). */
function mailboxLines(details: SideCheck['details']): string[] {
  const lines: string[] = [];
  if (details?.warning) lines.push(`  warning ${details.warning.code}: ${details.warning.reason}`);
  if (details?.quota) lines.push(`  quota "${details.quota.root}": ${describeQuota(details.quota)}`);
  const d = details?.delivery;
  if (d) {
    const latency = d.latencyMs === null ? '' : ` after ${(d.latencyMs / 1000).toFixed(1)} s`;
    const late = d.arrivals.filter((a) => a.late).length;
    lines.push(
      `  delivery ${d.outcome}${latency}${d.folder ? ` in ${d.folder}` : ''} (sent ${d.sentAt}; ${late} late arrival(s) cleaned up, ${d.pending} pending)`,
    );
  }
  return lines;
}

/** " (backoff ×4, auth_rejected)" while the account backs off after credential failures, else "". */
function backoffNote(account: EmailAccount): string {
  const failures = account.authBackoff?.failures ?? 0;
  if (failures === 0) return '';
  return ` (backoff ×${2 ** Math.min(failures - 1, 30)}, ${account.authBackoff?.code ?? 'auth_rejected'})`;
}

function renderAccount(
  account: EmailAccount,
  lastChecks: SideCheck[],
  history: HistoryEntry[],
  withTranscript: boolean,
): string {
  const a = accountJson(account);
  const lines = [
    `account ${a.id}  ${a.emailAddress}  (associate ${a.associateId})`,
    `status:     ${a.status} (${a.accountStatus}), ErrorCount ${a.errorCount}`,
    `reason:     ${a.errorReason || '-'}`,
    `incoming:   ${a.incoming ? `${a.incoming.server}:${a.incoming.port} ${a.incoming.security} user ${a.incoming.username}` : 'not tested'}`,
    `outgoing:   ${a.outgoing ? `${a.outgoing.server}:${a.outgoing.port} ${a.outgoing.security} user ${a.outgoing.username}` : 'not tested'}`,
    `last check: ${a.lastCheckAt ?? '-'}   last success: ${a.lastSuccessAt ?? '-'}   next due: ${a.nextDueAt ?? '-'}`,
    `backoff:    ${a.authBackoff ? `${backoffNote(account).trim()}: ${a.authBackoff.failures} credential failure(s) in a row; a save with new credentials or \`mailmon check --account ${a.id}\` ends it` : 'none'}`,
    ...(['incoming', 'outgoing'] as const).flatMap((name) => {
      const oauth = account[name]?.oauth;
      return oauth
        ? [`${name === 'incoming' ? 'IMAP' : 'SMTP'} OAuth2: ${describeOAuth(oauth, new Date())}`]
        : [];
    }),
    `delivery:   ${account.delivery?.enabled ? `round trip on, to ${account.delivery.to ?? account.emailAddress}` : 'round trip off (unless sampled)'}`,
    '',
  ];
  for (const c of lastChecks) {
    lines.push(
      `${c.side.toUpperCase()}: ${c.ok ? 'ok' : `FAILED ${c.code} in ${c.phase}: ${c.reason}`} (${c.durationMs} ms at ${when(c.checkedAt)})`,
    );
    const tls = c.details?.tls;
    if (tls)
      lines.push(
        `  TLS ${tls.protocol ?? '?'} ${tls.cipher ?? ''}; cert ${tls.subject ?? '?'} until ${tls.notAfter ?? '?'}${tls.authorized ? '' : ` (not verified: ${tls.authorizationError})`}`,
      );
    lines.push(...mailboxLines(c.details));
    if (withTranscript) {
      for (const t of c.details?.transcript ?? [])
        lines.push(`  ${String(t.t).padStart(6)}ms ${t.dir}: ${t.line}`);
    }
  }
  if (history.length > 0) {
    lines.push('', 'recent checks:');
    for (const h of history)
      lines.push(`  ${when(h.checkedAt)} ${h.side} ${h.ok ? 'ok' : `${h.code}: ${h.reason}`}`);
  }
  return `${lines.join('\n')}\n`;
}
