// `npm run bench`: mailmon side by side with the floor and the peers, in one run; see options.ts
// (--help) for what it measures and bench/README section of the project README for how to read it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeCerts } from './peers/certs.js';
import { missingPeers } from './peers/check.js';
import { startBlackbox } from './peers/blackbox.js';
import { startDovecot } from './peers/dovecot.js';
import {
  blackboxJob,
  checkSimapJob,
  imapflowLoop,
  nodemailerLoop,
  probeLoop,
  type Measured,
  type Target,
} from './jobs.js';
import {
  accountsJson,
  createStore,
  dropStore,
  importAccounts,
  runCheck,
  runDaemonSweep,
  writeConfig,
  type Db,
  type ImapMode,
  type Store,
} from './mailmon.js';
import { ROOT } from './measure.js';
import { HELP, parseOptions, type BenchOptions } from './options.js';
import { profileTable } from './profile.js';
import { createProgress } from './progress.js';
import { daemonTable, machine, perSecond, throughputTable, wrongTable, type Row } from './report.js';

const DB_LABEL: Record<Db, string> = { sqlite: 'SQLite', mariadb: 'MariaDB' };
const mailmonLabel = (db: Db, mode: ImapMode, what = 'check --all'): string =>
  `mailmon ${what}, ${DB_LABEL[db]}${mode === 'login' ? ', lean (mode login)' : ''}`;

async function startFakeImap(
  certPath: string,
  keyPath: string,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/peers/fake-imap.js'), certPath, keyPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fake IMAP server exited (${code})`)));
  });
  return { port: Number(line), child };
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n(run with --help for usage)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const missing = await missingPeers(options);
  if (missing.length > 0) {
    process.stderr.write(
      `bench: missing peers, nothing was run:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`,
    );
    return 2;
  }
  const opts = options;
  // Ctrl-C or a kill: stop the peers and drop the benchmark databases before leaving.
  const interrupted = new AbortController();
  const onSignal = (): void => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = createProgress(process.stderr);
  const tmp = mkdtempSync(join(tmpdir(), 'mailmon-bench-'));
  const started = new Date();
  const maxAccounts = Math.max(...opts.accounts);
  // Each user twice, as in the baseline: 2,000 accounts on 1,000 users.
  const users = Math.max(1, Math.ceil(maxAccounts / 2));
  const certs = await makeCerts(tmp);
  progress.say(`starting Dovecot with ${users} users, blackbox_exporter and the instant IMAP server`);
  const dovecot = await startDovecot(tmp, users, certs);
  const blackbox = await startBlackbox(tmp, Math.min(users, 500), certs.caPath);
  const fake = await startFakeImap(certs.certPath, certs.keyPath);
  const imaps: Target = { host: '127.0.0.1', port: dovecot.imapsPort, caPath: certs.caPath, users };
  const submission: Target = { ...imaps, port: dovecot.submissionPort };
  const instant: Target = { ...imaps, port: fake.port };
  const rows: Row[] = [];
  const notes: string[] = [];
  const profileNotes: string[] = [];
  const stores: Store[] = [];
  const add = (row: Omit<Row, 'rep'> & { rep?: number }): void => {
    if (interrupted.signal.aborted) throw new Error('interrupted');
    rows.push({ rep: 1, ...row });
    progress.say(
      `${row.phase} ${row.tool} N=${row.accounts} C=${row.concurrency}: ${perSecond(row).toFixed(0)} checks/s, ` +
        `${(row.cpuMs / Math.max(1, row.checks)).toFixed(2)} ms CPU/check, ${row.ok}/${row.checks} ok`,
    );
  };
  const newStore = async (db: Db, accounts: number, list: unknown[], what: string): Promise<Store> => {
    const store = await createStore(tmp, db, accounts);
    stores.push(store);
    const config = writeConfig(tmp, {
      store,
      concurrency: 8,
      caPath: certs.caPath,
      perAccountSeries: opts.perAccountSeries,
      mode: 'full',
    });
    progress.say(`storing ${accounts} ${what} accounts in ${DB_LABEL[db]} (mailmon accounts import)`);
    const ms = await importAccounts(tmp, config, list, db);
    notes.push(
      `- stored ${accounts} ${what} accounts in ${DB_LABEL[db]} with \`mailmon accounts import\` in ${(ms / 1000).toFixed(1)} s`,
    );
    return store;
  };

  try {
    if (opts.phases.includes('compare')) {
      for (const n of opts.accounts) {
        const byDb = new Map<Db, Store>();
        for (const db of opts.dbs)
          byDb.set(db, await newStore(db, n, accountsJson(n, users, dovecot.imapsPort), 'Dovecot'));
        for (let rep = 1; rep <= opts.reps; rep++) {
          for (const c of opts.concurrency) {
            const peerN = Math.min(n, opts.peerChecks);
            const base = { phase: 'compare', accounts: n, concurrency: c, rep };
            const mailmon = async (db: Db, mode: ImapMode): Promise<void> => {
              const store = byDb.get(db);
              if (!store) return;
              const config = writeConfig(tmp, {
                store,
                concurrency: c,
                caPath: certs.caPath,
                perAccountSeries: opts.perAccountSeries,
                mode,
              });
              progress.say(`running ${mailmonLabel(db, mode)} N=${n} C=${c} rep ${rep}`);
              const run = await runCheck(tmp, config);
              add({
                ...base,
                tool: mailmonLabel(db, mode),
                ...run,
                cpuMs: run.stats.cpuMs,
                rssKb: run.stats.maxRssKb,
                statements: run.stats.statements,
                commits: run.stats.commits,
              });
            };
            // Interleaved: floor, mailmon, peer, mailmon, ... so drift on the shared machine hits all.
            add({ ...base, tool: 'bare imapflow', ...(await imapflowLoop(tmp, imaps, n, c)) });
            await mailmon('sqlite', 'full');
            add({
              ...base,
              tool: 'blackbox_exporter (TLS + LOGIN)',
              ...(await blackboxJob(tmp, blackbox, imaps, peerN, c)),
            });
            await mailmon('sqlite', 'login');
            add({
              ...base,
              tool: 'mailmon lean probe alone (no database)',
              ...(await probeLoop(tmp, imaps, n, c, 'login')),
            });
            add({
              ...base,
              tool: 'check_simap (TLS + LOGIN), process per check',
              ...(await checkSimapJob(tmp, imaps, peerN, c)),
            });
            await mailmon('mariadb', 'full');
            add({
              ...base,
              tool: 'mailmon full probe alone (no database)',
              ...(await probeLoop(tmp, imaps, n, c, 'full')),
            });
            add({
              ...base,
              tool: 'bare imapflow verifyOnly (its leanest)',
              ...(await imapflowLoop(tmp, imaps, peerN, c, 'verify')),
            });
            await mailmon('mariadb', 'login');
            add({
              ...base,
              tool: 'bare nodemailer verify() (SMTP floor)',
              ...(await nodemailerLoop(tmp, submission, peerN, c)),
            });
          }
        }
        if (opts.cpuProf) await profiles(n, byDb);
        for (const s of byDb.values()) await dropStore(s);
      }
      const commands = (await imapflowLoop(tmp, imaps, 1, 1)).result.commands ?? [];
      notes.push(`- commands imapflow sends per check (bare loop, EXAMINE): ${commands.join(' ')}`);
      const verify = (await imapflowLoop(tmp, imaps, 1, 1, 'verify')).result.commands ?? [];
      notes.push(`- commands with imapflow's verifyOnly (its leanest option): ${verify.join(' ')}`);
    }

    if (opts.phases.includes('wrong')) await wrongPasswordRows();
    if (opts.phases.includes('daemon')) await daemonRows();
    if (opts.phases.includes('scale')) await scaleRows();
  } finally {
    progress.done();
    fake.child.kill('SIGTERM');
    await blackbox.stop();
    await dovecot.stop();
    for (const s of stores) await dropStore(s).catch(() => undefined);
  }

  /** One profiled run each of the bare loop and of mailmon per store and mode, at the highest C. */
  async function profiles(n: number, byDb: Map<Db, Store>): Promise<void> {
    const c = Math.max(...opts.concurrency);
    const dir = join(ROOT, 'bench/results/profiles', started.toISOString().slice(0, 16).replace(/:/g, ''));
    mkdirSync(dir, { recursive: true });
    const prof = (name: string): string[] => [
      '--cpu-prof',
      '--cpu-prof-dir',
      dir,
      '--cpu-prof-name',
      `${name}.cpuprofile`,
    ];
    progress.say(`profiling (node --cpu-prof) at N=${n} C=${c}`);
    await imapflowLoop(tmp, imaps, n, c, 'examine', false, prof('bare-imapflow'));
    profileNotes.push(`### bare imapflow, N=${n}, C=${c}\n\n${profileTable(dir, 'bare-imapflow', n)}`);
    for (const [db, store] of byDb) {
      for (const mode of ['full', 'login'] as const) {
        const name = `mailmon-${db}-${mode}`;
        const config = writeConfig(tmp, {
          store,
          concurrency: c,
          caPath: certs.caPath,
          perAccountSeries: opts.perAccountSeries,
          mode,
        });
        await runCheck(tmp, config, ['--all'], prof(name));
        profileNotes.push(`### ${mailmonLabel(db, mode)}, N=${n}, C=${c}\n\n${profileTable(dir, name, n)}`);
      }
    }
    notes.push(`- CPU profiles (open in Chrome DevTools): \`${dir.slice(ROOT.length + 1)}/\``);
  }

  // The quick run (CI) takes one database and one mode where a phase would repeat itself.
  function quickDbs(): Db[] {
    return opts.quick ? opts.dbs.slice(0, 1) : opts.dbs;
  }
  function quickModes(): ImapMode[] {
    return opts.modes;
  }

  async function wrongPasswordRows(): Promise<void> {
    const list = [
      {
        EMailAddress: 'wrong@bench.invalid',
        IncomingCredentials: {
          Server: '127.0.0.1',
          Port: dovecot.imapsPort,
          Security: 'tls',
          Username: 'u000000',
          Password: 'wrong',
        },
      },
      {
        EMailAddress: 'wrong2@bench.invalid',
        IncomingCredentials: {
          Server: '127.0.0.1',
          Port: fake.port,
          Security: 'tls',
          Username: 'u000000',
          Password: 'wrong',
        },
      },
    ];
    const store = await newStore('sqlite', 2, list, 'wrong-password');
    const servers: [string, Target, number][] = [
      ['Dovecot', imaps, 1],
      ['instant server', instant, 2],
    ];
    const base = { phase: 'wrong', accounts: 1, concurrency: 1 };
    // The quick run keeps the instant server only: Dovecot's refusal takes 0.5 s, blackbox's 5 s.
    for (const [server, target, id] of opts.quick ? servers.slice(1) : servers) {
      for (const mode of ['full', 'login'] as const) {
        const config = writeConfig(tmp, {
          store,
          concurrency: 1,
          caPath: certs.caPath,
          perAccountSeries: opts.perAccountSeries,
          mode,
        });
        const run = await runCheck(tmp, config, ['--account', String(id), '--json']);
        const report = (
          JSON.parse(run.stdout) as { sides: { durationMs: number; code: string; reason: string }[] }[]
        )[0];
        const side = report?.sides[0];
        add({
          ...base,
          tool: mailmonLabel('sqlite', mode, 'check --account'),
          ...run,
          checks: 1,
          ok: 0,
          failed: 1,
          cpuMs: run.stats.cpuMs,
          rssKb: run.stats.maxRssKb,
          checkMs: side?.durationMs ?? NaN,
          note: `${server}|${side?.code}: ${side?.reason} (process wall ${Math.round(run.wallMs)} ms)`,
        });
      }
      const loopRow = (tool: string, m: Measured): void =>
        add({ ...base, tool, ...m, note: `${server}|${m.note ?? ''}` });
      loopRow('bare imapflow', await imapflowLoop(tmp, target, 1, 1, 'examine', true));
      if (opts.quick) continue;
      loopRow('blackbox_exporter', await blackboxJob(tmp, blackbox, target, 1, 1, true));
      loopRow('check_simap (LOGIN)', await checkSimapJob(tmp, target, 1, 1, true));
    }
    const smtp = await nodemailerLoop(tmp, submission, 1, 1, true);
    add({
      ...base,
      tool: 'bare nodemailer verify()',
      ...smtp,
      note: `Dovecot submission|${smtp.note ?? ''}`,
    });
  }

  async function daemonRows(): Promise<void> {
    const c = Math.max(...opts.concurrency);
    const byDb = new Map<Db, Store>();
    for (const db of quickDbs())
      byDb.set(
        db,
        await newStore(db, maxAccounts, accountsJson(maxAccounts, users, dovecot.imapsPort), 'Dovecot'),
      );
    for (let rep = 1; rep <= opts.reps; rep++) {
      const base = { phase: 'daemon', accounts: maxAccounts, concurrency: c, rep };
      const floorChecks = Math.min(maxAccounts, opts.peerChecks);
      add({ ...base, tool: 'bare imapflow', ...(await imapflowLoop(tmp, imaps, floorChecks, c)) });
      for (const [db, store] of byDb) {
        for (const mode of quickModes()) {
          progress.say(`daemon sweep ${DB_LABEL[db]} ${mode} N=${maxAccounts} C=${c} rep ${rep}`);
          const run = await runDaemonSweep(
            tmp,
            { store, concurrency: c, caPath: certs.caPath, perAccountSeries: opts.perAccountSeries, mode },
            (k) => progress.tick(k, maxAccounts),
          );
          add({
            ...base,
            tool: mailmonLabel(db, mode, 'serve sweep'),
            ...run,
            cpuMs: run.stats.cpuMs,
            rssKb: run.stats.maxRssKb,
            statements: run.stats.statements,
            commits: run.stats.commits,
            metrics: { bytes: run.metricsBytes, duringMs: run.metricsDuringMs, afterMs: run.metricsAfterMs },
          });
        }
      }
    }
    for (const s of byDb.values()) await dropStore(s);
  }

  async function scaleRows(): Promise<void> {
    const n = opts.scaleAccounts;
    const c = Math.max(...opts.concurrency);
    for (const db of quickDbs()) {
      const store = await newStore(db, n, accountsJson(n, users, fake.port), 'instant-server');
      for (const mode of opts.quick ? (['login'] as const) : opts.modes) {
        progress.say(`simulated sweep of ${n} accounts, ${DB_LABEL[db]}, ${mode}, C=${c}`);
        const run = await runDaemonSweep(
          tmp,
          { store, concurrency: c, caPath: certs.caPath, perAccountSeries: opts.perAccountSeries, mode },
          (k) => progress.tick(k, n),
        );
        add({
          phase: 'scale',
          accounts: n,
          concurrency: c,
          rep: 1,
          tool: mailmonLabel(db, mode, 'serve sweep, instant server'),
          ...run,
          cpuMs: run.stats.cpuMs,
          rssKb: run.stats.maxRssKb,
          statements: run.stats.statements,
          commits: run.stats.commits,
          metrics: { bytes: run.metricsBytes, duringMs: run.metricsDuringMs, afterMs: run.metricsAfterMs },
        });
      }
      await dropStore(store);
    }
  }

  const out =
    opts.out ??
    join(
      ROOT,
      'bench/results',
      `${started.toISOString().slice(0, 16).replace(/:/g, '')}Z-${hostname()}${opts.quick ? '-quick' : ''}.md`,
    );
  const markdown = render(opts, rows, notes, started, argv, profileNotes);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, markdown);
  process.stdout.write(`${markdown}\nresults written to ${out}\n`);
  rmSync(tmp, { recursive: true, force: true });
  const broken = rows.filter((r) => r.phase !== 'wrong' && r.ok === 0);
  if (broken.length > 0) {
    process.stderr.write(`bench: ${broken.map((r) => r.tool).join(', ')} had no successful check\n`);
    return 1;
  }
  return 0;
}

function render(
  opts: BenchOptions,
  rows: Row[],
  notes: string[],
  started: Date,
  argv: string[],
  profileNotes: string[],
): string {
  const sections = [
    `# mailmon benchmark, ${started.toISOString().slice(0, 16)} UTC${opts.quick ? ' (quick smoke run: figures not meaningful)' : ''}`,
    '',
    machine(),
    `- command: \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (${opts.reps} repetition(s), interleaved; ranges are min–max over repetitions)`,
    '- Dovecot tuned for throughput: imap-login and submission-login `service_count = 0`, `process_min_avail = 2`, `auth_failure_delay = 0`, anvil auth-penalty socket off; implicit TLS (ECDSA P-256, TLS 1.3) for IMAP, STARTTLS for submission; each user stored twice',
    '- The machine is shared: compare tools by the ratios of one run, not by absolute figures across runs.',
    '',
  ];
  if (rows.some((r) => r.phase === 'compare')) {
    sections.push(
      '## Same work side by side (IMAP unless noted)',
      '',
      throughputTable(rows, 'compare', 'bare imapflow', 'bare imapflow'),
    );
    sections.push(
      'mailmon rows are whole `mailmon check --all` processes (start-up, reading and decrypting the accounts, writing every result, printing the table); CPU and peak RSS are of that process. blackbox_exporter CPU is the exporter plus its HTTP driver; its RSS is the exporter. check_simap CPU and RSS are every plugin process (GNU time over `xargs -P C`). The lean mode does TLS + LOGIN + LOGOUT; the full one login + EXAMINE INBOX as the bare imapflow loop.',
      '',
    );
  }
  if (rows.some((r) => r.phase === 'wrong')) sections.push('## Wrong password', '', wrongTable(rows));
  if (rows.some((r) => r.phase === 'daemon')) {
    sections.push(
      "## The daemon's claim loop (`mailmon serve`), one pass over every account",
      '',
      daemonTable(rows, 'daemon'),
    );
    sections.push(
      "One pass of the claim loop over every stored account: the daemon starts with every account parked (not due), then all are made due at once (`next_due_at = 0`, leases cleared). Sweep s is from that update to the last recorded check (`last_check_at`), and every account must have one; CPU, statements and commits are the daemon's over that window (/proc and the stats preload; start-up excluded, the harness's 4 /metrics polls per second included); RSS is the process peak. A commit is a COMMIT or a write outside a transaction.",
      '',
    );
  }
  if (rows.some((r) => r.phase === 'scale')) {
    sections.push('## Simulated sweep against an instant IMAP server', '', daemonTable(rows, 'scale'));
    const perCore = rows
      .filter((r) => r.phase === 'scale')
      .map(
        (r) =>
          `${r.tool}: ${(1000 / (r.cpuMs / r.checks)).toFixed(0)} accounts/s per core (1000 / CPU ms per check)`,
      );
    sections.push(perCore.map((l) => `- ${l}`).join('\n'), '');
  }
  if (profileNotes.length > 0)
    sections.push('## Where the CPU goes (node --cpu-prof, self time)', '', ...profileNotes, '');
  sections.push('## Notes', '', ...notes, '');
  return sections.join('\n');
}

process.exitCode = await main(process.argv.slice(2));
