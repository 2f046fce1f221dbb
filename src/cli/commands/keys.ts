import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { KeyConfigError } from '../../crypto/errors.js';
import { generateKeyLine } from '../../crypto/key-source.js';
import {
  checkSecrets,
  rotateSecrets,
  type CheckSummary,
  type RotateSummary,
  type SecretFailure,
} from '../../crypto/rotate.js';
import { CliError, EXIT, withCore, type CliIo } from '../context.js';
import { table } from '../format.js';

const ROTATE_USAGE =
  'Run it with the new key first and the old keys after it (MAILMON_SECRET_KEY or the key file), ' +
  'after every process using the database was restarted with that same keyring. Safe while the ' +
  'daemon runs; an interrupted rotation continues where it stopped when run again. See docs/keys.md.';

export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('manage the keys that encrypt stored passwords');

  keys
    .command('generate')
    .summary('print a new key line')
    .description('print a new key line (id:base64key) for the key file or MAILMON_SECRET_KEY; stores nothing')
    .option('--id <id>', 'key id (A-Z a-z 0-9 _ -); default k<UTC date and time>')
    .action((options: { id?: string }) => {
      const id = options.id ?? `k${new Date().toISOString().replace(/[-:]|\.\d+Z$/g, '')}`;
      try {
        io.stdout.write(`${generateKeyLine(id)}\n`);
        io.stderr.write(
          'Put this line first in the key file (or MAILMON_SECRET_KEY), keep the old lines after it, restart\n' +
            'mailmon, then run: mailmon keys rotate. Back the key up: without it stored passwords are lost.\n',
        );
      } catch (error) {
        if (error instanceof KeyConfigError) throw new CliError(error.message);
        throw error;
      }
    });

  keys
    .command('check')
    .summary('prove every stored secret decrypts; counts per key id')
    .description(
      'decrypt every stored secret with the configured keys and print counts per key id. ' +
        'Exit 0 when all decrypt, 1 when any does not (the rows are named, never their values).',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withCore(io, async ({ db, keyring }) => {
        const summary = await checkSecrets(db.knex, keyring);
        io.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : renderCheck(summary));
        if (summary.failures.length > 0) {
          throw new CliError(
            `${summary.failures.length} stored secret(s) do not decrypt: ${failedRows(summary.failures)}`,
            EXIT.failed,
          );
        }
      });
    });

  keys
    .command('rotate')
    .summary('re-encrypt every stored secret under the active key')
    .description(
      `re-encrypt every stored secret that is not under the active key, in batches.\n\n${ROTATE_USAGE}`,
    )
    .option('--batch-size <n>', 'rows per transaction', parseBatchSize, 100)
    .action(async (options: { batchSize: number }) => {
      await withCore(io, async ({ db, keyring }) => {
        const controller = new AbortController();
        const onInterrupt = () => controller.abort();
        process.once('SIGINT', onInterrupt);
        const progress = progressDisplay(io);
        try {
          const summary = await rotateSecrets(db.knex, keyring, {
            batchSize: options.batchSize,
            signal: controller.signal,
            onProgress: ({ done, total }) => progress.update(done, total),
          });
          progress.stop();
          io.stdout.write(renderRotation(summary));
          if (summary.aborted) {
            throw new CliError(
              'interrupted; finished batches are saved, run keys rotate again to continue',
              130,
            );
          }
          if (summary.failed.length > 0) {
            throw new CliError(
              `${summary.failed.length} stored secret(s) could not be rotated because they do not decrypt: ${failedRows(summary.failed)}`,
              EXIT.failed,
            );
          }
          if (summary.remaining > 0) {
            throw new CliError(
              `${summary.remaining} stored secret(s) were re-saved under an older key meanwhile (is a process still running with the old keyring?); run keys rotate again`,
              EXIT.failed,
            );
          }
        } finally {
          progress.stop();
          process.off('SIGINT', onInterrupt);
        }
      });
    });
}

function parseBatchSize(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
    throw new CliError(`--batch-size must be an integer from 1 to 10000, got "${value}"`);
  }
  return Number(value);
}

/** A progress bar on stderr when it is a terminal, created at the first report (when the total is known). */
function progressDisplay(io: CliIo) {
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done: number, total: number) {
      if (!io.stderr.isTTY || total === 0) return;
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          {
            stream: io.stderr,
            format: 'rotating [{bar}] {value}/{total} secrets  {duration}s',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(Math.min(done, total));
    },
    stop: () => bar?.stop(),
  };
}

function failedRows(failures: readonly SecretFailure[]): string {
  const shown = failures.slice(0, 20).map((f) => `service_auth ${f.serviceAuthId} (${f.code})`);
  return `${shown.join(', ')}${failures.length > shown.length ? `, and ${failures.length - shown.length} more` : ''}`;
}

function renderCheck(summary: CheckSummary): string {
  const rows = summary.byKey.map((k) => [k.keyId, k.active ? 'yes' : 'no', k.ok + k.failed, k.ok, k.failed]);
  const malformed = summary.failures.filter((f) => f.keyId === null).length;
  if (malformed > 0) rows.push(['(not encrypted)', '-', malformed, 0, malformed]);
  const lines = [
    summary.total === 0
      ? 'no stored secrets\n'
      : table(['key id', 'active', 'secrets', 'decrypt', 'fail'], rows),
    `${summary.total} secret(s) checked: ${summary.ok} decrypt, ${summary.failures.length} fail.`,
  ];
  if (summary.needRotation > 0) {
    lines.push(
      `${summary.needRotation} secret(s) are not under the active key yet: run mailmon keys rotate.`,
    );
  }
  for (const f of summary.failures) {
    lines.push(
      `  service_auth ${f.serviceAuthId}: ${f.code}${f.keyId === null ? '' : ` (key "${f.keyId}")`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderRotation(s: RotateSummary): string {
  const lines = [
    `rotated ${s.rotated} of ${s.pending} secret(s) to key "${s.activeKeyId}" in ${s.batches} batch(es)` +
      (s.changedConcurrently > 0
        ? `; ${s.changedConcurrently} were re-saved meanwhile and need nothing`
        : '') +
      (s.failed.length > 0 ? `; ${s.failed.length} failed` : '') +
      '.',
    s.remaining === 0
      ? `every stored secret is now under key "${s.activeKeyId}"; run mailmon keys check, then older keys can be removed.`
      : `${s.remaining} secret(s) are still under other keys: keep the old keys and run mailmon keys rotate again.`,
  ];
  return `${lines.join('\n')}\n`;
}
