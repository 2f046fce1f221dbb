import type { AccountSeriesStore } from './account-series.js';

/**
 * The per-account metric families, rendered as exposition text straight from the account store.
 *
 * Why not prom-client gauges: with 10,000 accounts (80,000 series) prom-client's label validation,
 * hashing and formatting took 300-500 ms of CPU per scrape, stalling the event loop under running
 * probes (their timings included). Every label value here comes from a closed set (an integer id,
 * a protocol, a catalogue code; the store enforces it), so no escaping is needed and a plain loop
 * renders the same text several times faster.
 */
const FAMILIES = {
  status: [
    'mailmon_account_status',
    'AccountStatus of each account: 0 unknown, 2 failing, 3 failed, 4 ok (deleted accounts are absent).',
  ],
  failures: [
    'mailmon_account_consecutive_failures',
    'Consecutive failed checks of each account (the stored ErrorCount).',
  ],
  success: ['mailmon_check_success', '1 if the last check of this account side succeeded, else 0.'],
  lastCheck: [
    'mailmon_last_check_timestamp_seconds',
    'When this account side was last checked, Unix seconds.',
  ],
  lastSuccess: [
    'mailmon_last_success_timestamp_seconds',
    'When this account side last passed, Unix seconds.',
  ],
  failure: [
    'mailmon_check_failure_info',
    'Always 1, one per failing account side; code says why ("unknown" when not recorded).',
  ],
} as const;

type Family = keyof typeof FAMILIES;

export function renderAccountSeries(accounts: AccountSeriesStore): string {
  const lines: Record<Family, string[]> = {
    status: [],
    failures: [],
    success: [],
    lastCheck: [],
    lastSuccess: [],
    failure: [],
  };
  for (const [id, account] of accounts.exported()) {
    const account_id = `account_id="${id}"`;
    lines.status.push(`mailmon_account_status{${account_id}} ${account.status}`);
    lines.failures.push(`mailmon_account_consecutive_failures{${account_id}} ${account.errorCount}`);
    for (const [protocol, side] of account.sides) {
      const labels = `${account_id},protocol="${protocol}"`;
      if (side.ok !== null) lines.success.push(`mailmon_check_success{${labels}} ${side.ok ? 1 : 0}`);
      if (side.lastCheckAt) {
        lines.lastCheck.push(
          `mailmon_last_check_timestamp_seconds{${labels}} ${side.lastCheckAt.getTime() / 1000}`,
        );
      }
      if (side.lastSuccessAt) {
        const value = side.lastSuccessAt.getTime() / 1000;
        lines.lastSuccess.push(`mailmon_last_success_timestamp_seconds{${labels}} ${value}`);
      }
      // "unknown" when the code was not recorded: every failing side gets exactly one series,
      // which the dashboard's failing-accounts table joins the other per-side values onto.
      if (side.ok === false) {
        lines.failure.push(`mailmon_check_failure_info{${labels},code="${side.code ?? 'unknown'}"} 1`);
      }
    }
  }
  let text = '';
  for (const family of Object.keys(FAMILIES) as Family[]) {
    const [name, help] = FAMILIES[family];
    text += `\n# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
    for (const line of lines[family]) text += `${line}\n`;
  }
  return text;
}
