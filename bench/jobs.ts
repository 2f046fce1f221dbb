// One measured job per tool: each runs as its own process (or processes) and returns a Measured.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_SIMAP } from './peers/check.js';
import { PEER_TIMEOUT_S, type Blackbox } from './peers/blackbox.js';
import { userName, userPass } from './peers/dovecot.js';
import { procSample, runNode, runTimed, TOOLS } from './measure.js';
import type { LoopResult, LoopSpec } from './tools/spec.js';

export interface Measured {
  checks: number;
  ok: number;
  failed: number;
  wallMs: number;
  /** CPU of the client side: the tool's process(es), for blackbox the exporter plus its driver. */
  cpuMs: number;
  rssKb: number;
  statements?: number;
  /** Write transactions committed by the process (see preload.ts). */
  commits?: number;
  /** Mean time of one check, ms (the wrong-password rows). */
  checkMs?: number;
  note?: string;
}

let specSeq = 0;

async function loop(
  tmp: string,
  tool: string,
  spec: LoopSpec,
  nodeArgs: string[] = [],
): Promise<Measured & { result: LoopResult }> {
  const path = join(tmp, `spec-${++specSeq}.json`);
  writeFileSync(path, JSON.stringify(spec));
  const ran = await runNode(tmp, join(TOOLS, `${tool}.js`), [path], { nodeArgs });
  const line = ran.stdout.trim().split('\n').pop() ?? '';
  if (ran.code !== 0 || !line.startsWith('{'))
    throw new Error(`${tool} failed (exit ${ran.code}): ${ran.stderr.trim().slice(0, 400)}`);
  const result = JSON.parse(line) as LoopResult;
  return {
    result,
    checks: result.checks,
    ok: result.ok,
    failed: result.failed,
    wallMs: result.wallMs,
    cpuMs: ran.stats.cpuMs,
    rssKb: ran.stats.maxRssKb,
    checkMs: result.meanCheckMs,
    ...(result.firstError ? { note: result.firstError } : {}),
  };
}

export interface Target {
  host: string;
  port: number;
  caPath: string;
  users: number;
}

export function imapflowLoop(
  tmp: string,
  t: Target,
  checks: number,
  c: number,
  variant = 'examine',
  wrong = false,
  nodeArgs: string[] = [],
) {
  return loop(
    tmp,
    'imapflow-loop',
    { ...t, checks, concurrency: c, variant, wrongPassword: wrong },
    nodeArgs,
  );
}

/** mailmon's probe alone (no database): variant 'full' (imapflow) or 'login' (lean). */
export function probeLoop(tmp: string, t: Target, checks: number, c: number, variant: 'full' | 'login') {
  return loop(tmp, 'probe-loop', { ...t, checks, concurrency: c, variant });
}

export function nodemailerLoop(tmp: string, t: Target, checks: number, c: number, wrong = false) {
  return loop(tmp, 'nodemailer-loop', { ...t, checks, concurrency: c, wrongPassword: wrong });
}

export async function blackboxJob(
  tmp: string,
  bb: Blackbox,
  t: Target,
  checks: number,
  c: number,
  wrong = false,
): Promise<Measured> {
  const before = procSample(bb.pid);
  const driven = await loop(tmp, 'blackbox-driver', {
    ...t,
    checks,
    concurrency: c,
    wrongPassword: wrong,
    exporterUrl: bb.url,
    modules: bb.modules,
  });
  const after = procSample(bb.pid);
  return {
    ...driven,
    cpuMs: after.cpuMs - before.cpuMs + driven.cpuMs,
    rssKb: after.hwmKb,
    note: `${wrong ? '' : 'exporter '}${Math.round(after.cpuMs - before.cpuMs)} ms + driver ${Math.round(driven.cpuMs)} ms CPU`,
  };
}

/**
 * monitoring-plugins' check_simap, one process per check as Nagios runs it, at concurrency `c`
 * (xargs -P). The LOGIN goes through -s/-e; a wrong password is only noticed at the -t timeout.
 */
export async function checkSimapJob(
  tmp: string,
  t: Target,
  checks: number,
  c: number,
  wrong = false,
): Promise<Measured> {
  const input: string[] = [];
  for (let i = 0; i < checks; i++) {
    const u = i % t.users;
    input.push('-s', `a1 LOGIN ${userName(u)} ${wrong ? 'wrong' : userPass(u)}\\r\\n`);
  }
  const fixed = [
    '-H',
    t.host,
    '-p',
    String(t.port),
    '-S',
    '-E',
    '-e',
    'a1 OK',
    '-q',
    'a2 LOGOUT',
    '-t',
    String(PEER_TIMEOUT_S),
  ];
  const started = performance.now();
  const ran = await runTimed(tmp, 'xargs', ['-0', '-n', '2', '-P', String(c), CHECK_SIMAP, ...fixed], {
    stdin: input.join('\0') + '\0',
  });
  const wallMs = performance.now() - started;
  const ok = (ran.stdout.match(/^TCP OK/gm) ?? []).length + (ran.stdout.match(/^SIMAP OK/gm) ?? []).length;
  const first = ran.stdout.split('\n').find((l) => l && !/ OK/.test(l.split(' - ')[0] ?? ''));
  return {
    checks,
    ok,
    failed: checks - ok,
    wallMs,
    cpuMs: ran.stats.cpuMs,
    rssKb: ran.stats.maxRssKb,
    checkMs: wallMs / Math.ceil(checks / c),
    ...(first ? { note: first.slice(0, 80) } : {}),
  };
}
