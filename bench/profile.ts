// Where the CPU goes: a `node --cpu-prof` profile's self time, aggregated per package (node_modules),
// per mailmon directory (dist/<dir>), Node's TLS and the rest of its core, and GC.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function category(node: ProfileNode): string | null {
  const { url, functionName } = node.callFrame;
  if (functionName === '(idle)') return null;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)' || url === '') return 'native (V8, OpenSSL, syscalls not attributed)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (pkg === 'better-sqlite3' || pkg === 'mysql2' || pkg === 'knex' || pkg === 'tarn')
      return `database: ${pkg}`;
    return pkg;
  }
  const own = /\/dist\/(bench\/)?([^/]+)(?:\/|\.js)/.exec(url);
  if (own) return own[1] ? 'bench harness' : `mailmon: ${own[2]}`;
  if (/node:(internal\/)?(tls|_tls|crypto)|internal\/tls|_tls_wrap|internal\/crypto/.test(url))
    return 'Node TLS/crypto (JS side)';
  if (url.startsWith('node:')) return 'Node core (net, streams, timers, modules)';
  return 'other';
}

/** Self ms per category, summed over every profile in `dir` whose name starts with `prefix`. */
export function profileTable(dir: string, prefix: string, checks: number): string {
  const totals = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      const cat = node ? category(node) : null;
      if (cat) totals.set(cat, (totals.get(cat) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  const sum = rows.reduce((s, [, ms]) => s + ms, 0);
  return (
    '| where (self time) | ms per check | share |\n|---|---|---|\n' +
    rows
      .filter(([, ms]) => ms / sum >= 0.005)
      .map(([cat, ms]) => `| ${cat} | ${(ms / checks).toFixed(2)} | ${((100 * ms) / sum).toFixed(0)} % |`)
      .join('\n') +
    `\n| total sampled | ${(sum / checks).toFixed(2)} | |\n`
  );
}
