import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { AccountRepository } from '../../accounts/repository.js';
import type { CheckReport } from '../../checks/account-checker.js';
import { runSweep } from '../../sweep/run-sweep.js';
import { CliError, EXIT, withCore, type CliIo } from '../context.js';
import { statusName, table } from '../format.js';
import { parseId } from './accounts.js';

interface CheckOptions {
  all?: boolean;
  account?: string[];
  json?: boolean;
  includeBackingOff?: boolean;
}

export function registerCheckCommand(program: Command, io: CliIo): void {
  program
    .command('check')
    .description(
      'test accounts now and record the results exactly as a scheduled sweep would.\n' +
        'Exit 0 when every tested account is Ok, 1 when any failed, 2 on usage or config errors.',
    )
    .option('--all', 'every stored, non-deleted account (but those backing off after credential failures)')
    .option('--account <id...>', 'these account ids')
    .option('--json', 'print JSON results')
    .option(
      '--include-backing-off',
      'with --all: also test accounts backing off after credential failures (each is one more login with credentials the server refused)',
    )
    .action(async (options: CheckOptions) => {
      if (Boolean(options.all) === Boolean(options.account)) {
        throw new CliError('give either --all or --account ID (one or more)');
      }
      const requested = options.account?.map(parseId);
      await withCore(io, async (core) => {
        const ids =
          requested ??
          (options.includeBackingOff
            ? await core.repo.listActiveAccountIds()
            : await idsForAll(core.repo, io));
        for (const id of requested ?? []) {
          const account = await core.repo.getAccount(id);
          if (account === null) throw new CliError(`account ${id} does not exist`);
          if (statusName(account.accountStatus) === 'Deleted') throw new CliError(`account ${id} is Deleted`);
        }
        const controller = new AbortController();
        const onInterrupt = () => controller.abort(new Error('interrupted'));
        process.once('SIGINT', onInterrupt);
        const bar = progressBar(io, ids.length);
        try {
          const summary = await runSweep(core, {
            signal: controller.signal,
            concurrency: core.config.scheduler.concurrency,
            accountIds: ids,
            keepReports: true,
            onResult: () => bar?.increment(),
          });
          bar?.stop();
          if (controller.signal.aborted)
            throw new CliError('interrupted; results of finished checks were saved', 130);
          const reports = summary.reports.sort((a, b) => a.accountId - b.accountId);
          io.stdout.write(
            options.json ? `${JSON.stringify(reports.map(reportJson), null, 2)}\n` : render(reports),
          );
          const anyFailed = summary.failed > 0 || summary.errors > 0;
          io.exitCode = anyFailed ? EXIT.failed : EXIT.ok;
        } finally {
          bar?.stop();
          process.off('SIGINT', onInterrupt);
        }
      });
    });
}

function progressBar(io: CliIo, total: number): cliProgress.SingleBar | null {
  if (!io.stderr.isTTY || total === 0) return null;
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr, format: 'checking [{bar}] {value}/{total} accounts  {duration}s', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}

function reportJson(report: CheckReport) {
  return {
    accountId: report.accountId,
    ok: report.outcome.ok,
    status: report.recorded ? statusName(report.recorded.after.status) : null,
    errorCount: report.recorded?.after.errorCount ?? null,
    reason: report.outcome.reason,
    sides: report.results.map(({ cause: _cause, ...side }) => side),
  };
}

function render(reports: CheckReport[]): string {
  if (reports.length === 0) return 'no accounts to check\n';
  const side = (r: CheckReport, p: 'imap' | 'smtp') => {
    const result = r.results.find((x) => x.protocol === p);
    if (result === undefined) return '-';
    return result.ok ? `ok ${Math.round(result.durationMs)} ms` : `${result.code} (${result.phase})`;
  };
  const rows = reports.map((r) => [
    r.accountId,
    side(r, 'imap'),
    side(r, 'smtp'),
    r.recorded ? `${statusName(r.recorded.after.status)} (${r.recorded.after.errorCount})` : '-',
    r.outcome.reason ?? '',
  ]);
  const failed = reports.filter((r) => !r.outcome.ok).length;
  return `${table(['id', 'IMAP', 'SMTP', 'status (errors)', 'reason'], rows)}${reports.length} checked, ${reports.length - failed} ok, ${failed} failed\n`;
}

/**
 * Every active account but those backing off after credential failures whose next check has not
 * come: `check --all` from a cron job must not retry stale passwords every few minutes (README,
 * "Never locking a user out"). `check --account ID` tests any account: a test by hand always runs.
 */
async function idsForAll(repo: AccountRepository, io: CliIo): Promise<number[]> {
  const now = Date.now();
  const { items } = await repo.listAccounts({ excludeDeleted: true, limit: 1_000_000 });
  const backingOff = items.filter(
    (a) => (a.authBackoff?.failures ?? 0) > 0 && a.nextDueAt !== null && a.nextDueAt.getTime() > now,
  );
  if (backingOff.length > 0) {
    const ids = backingOff.map((a) => a.emailAccountId);
    io.stderr.write(
      `skipped ${ids.length} account(s) backing off after credential failures until their next due time (${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', ...' : ''}); test one by hand with --account ID, or all with --include-backing-off\n`,
    );
  }
  const skip = new Set(backingOff.map((a) => a.emailAccountId));
  return items.map((a) => a.emailAccountId).filter((id) => !skip.has(id));
}
