// The CheckObserver: the one place a recorded check, a save or a deletion reaches the metrics. The
// accounts-per-status counts move with each reported transition (nobody re-counts), and a delete
// that lands between a check's write and its observation does not bring the series back.
import { describe, expect, it } from 'vitest';
import { AccountStatus, type EmailAccount } from '../../src/accounts/types.js';
import { CheckObserver } from '../../src/checks/check-observer.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { LogCapture } from '../helpers/core.js';
import { find, parseExposition, value } from '../metrics/exposition.js';
import { failure, newMetrics, probeResult } from '../metrics/fixtures.js';

const AT = new Date('2030-06-01T12:00:00Z');

function account(id: number, status = AccountStatus.Ok): EmailAccount {
  const side = { server: 'imap.example.test', port: 993 } as EmailAccount['incoming'];
  return { emailAccountId: id, accountStatus: status, incoming: side, outgoing: null } as EmailAccount;
}

const state = (status: AccountStatus, errorCount = 0) => ({ status, errorCount, errorReason: '' });

async function counts(metrics: Metrics): Promise<Record<string, number>> {
  const samples = parseExposition(await metrics.metricsText());
  return Object.fromEntries(
    ['unknown', 'ok', 'failing', 'failed', 'deleted'].map((s) => [
      s,
      value(samples, 'mailmon_accounts', { status: s }),
    ]),
  );
}

function setup() {
  const metrics = newMetrics();
  const logs = new LogCapture();
  const observer = new CheckObserver(
    metrics,
    createLogger({ level: 'info', pretty: false, destination: logs }),
  );
  return { metrics, logs, observer };
}

describe('CheckObserver', () => {
  it('moves the accounts-per-status counts with each transition, logs state changes', async () => {
    const { metrics, logs, observer } = setup();
    metrics.setStatusCounts({ [AccountStatus.Ok]: 2, [AccountStatus.Failing]: 1 });
    observer.checked(
      account(1),
      [failure('auth_rejected')],
      { before: state(AccountStatus.Ok), after: state(AccountStatus.Failing, 1) },
      AT,
      observer.epoch(),
    );
    expect(await counts(metrics)).toMatchObject({ ok: 1, failing: 2, failed: 0 });
    // No change of status: no count moves, no log line.
    observer.checked(
      account(2),
      [probeResult()],
      { before: state(AccountStatus.Ok), after: state(AccountStatus.Ok) },
      AT,
      observer.epoch(),
    );
    expect(await counts(metrics)).toMatchObject({ ok: 1, failing: 2 });
    observer.saved(account(3, AccountStatus.Unknown), true);
    observer.deleted(2, AccountStatus.Ok);
    expect(await counts(metrics)).toMatchObject({ unknown: 1, ok: 0, failing: 2, deleted: 1 });
    expect(logs.parsed().map((l) => l.msg)).toEqual(['account 1 Ok→Failing']);
  });

  it('a delete landing between a check’s write and its observation: the series stay gone, the counts add up', async () => {
    const { metrics, observer } = setup();
    metrics.setStatusCounts({ [AccountStatus.Ok]: 1 });
    const epoch = observer.epoch(); // the check starts
    // Its write commits (Ok→Failing), then the API's delete commits, reading Failing, and observes first.
    observer.deleted(7, AccountStatus.Failing);
    observer.checked(
      account(7),
      [failure('auth_rejected')],
      { before: state(AccountStatus.Ok), after: state(AccountStatus.Failing, 1) },
      AT,
      epoch,
    );
    const samples = parseExposition(await metrics.metricsText());
    expect(find(samples, 'mailmon_account_status', { account_id: '7' })).toEqual([]);
    expect(find(samples, 'mailmon_check_success', { account_id: '7' })).toEqual([]);
    expect(await counts(metrics)).toMatchObject({ ok: 0, failing: 0, deleted: 1 });
    // A check that starts after the deletion (of an account re-created under that id) is observed.
    observer.checked(
      account(7),
      [probeResult()],
      { before: state(AccountStatus.Unknown), after: state(AccountStatus.Ok) },
      AT,
      observer.epoch(),
    );
    expect(
      find(parseExposition(await metrics.metricsText()), 'mailmon_account_status', { account_id: '7' }),
    ).toHaveLength(1);
  });
});
