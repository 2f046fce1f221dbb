// A real Prometheus (the Debian package's binary) for tests: its own temp dir, config and TSDB, on a
// free 127.0.0.1 port, scraping the given targets as job "mailmon" and evaluating the given rule
// files. stop() waits for the process to exit and removes the dir.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../peers/ports.js';
import { which } from '../peers/require.js';

export interface PrometheusOptions {
  /** host:port of each mailmon /metrics to scrape (job="mailmon"). */
  targets: string[];
  /** Absolute paths of rule files to load. */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval, e.g. '1s'. */
  interval?: string;
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: VectorSample[] | [number, string] };
}

export interface RuleState {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
}

export interface PrometheusServer {
  url: string;
  query(expr: string): Promise<QueryAnswer>;
  rules(): Promise<RuleState[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mailmon-prometheus-'));
  const [port] = await freePorts(1);
  const interval = options.interval ?? '1s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [{ job_name: 'mailmon', static_configs: [{ targets: options.targets }] }],
  };
  await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config));
  const child = spawn(
    which('prometheus') ?? 'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, () => child.exitCode !== null, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`Prometheus did not start: ${(err as Error).message}\n${stderr}`);
  }

  return {
    url,
    stop,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await res.json()) as QueryAnswer;
    },
    async rules() {
      const res = await fetch(`${url}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: { rules: RuleState[] }[] } };
      return body.data.groups.flatMap((g) => g.rules);
    },
  };
}

async function waitReady(url: string, died: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (died()) throw new Error('the process exited');
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`not ready within ${timeoutMs} ms`);
}
