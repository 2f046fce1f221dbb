// Reading Prometheus text exposition in tests: samples by name and labels, and the mailmon_ part
// alone (the only part `promtool check metrics` is asked about; see src/metrics/metrics.ts).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples of one metric whose labels include all of `where`. */
export function find(samples: Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

/** The single value of one series; throws when the series is missing or ambiguous. */
export function value(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  const found = find(samples, name, where);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(where)}: ${found.length} series`);
  return found[0]!.value;
}

/** HELP, TYPE and sample lines of the mailmon_* metrics only. */
export function mailmonPart(text: string): string {
  const keep = /^(# (HELP|TYPE) )?mailmon_/;
  return (
    text
      .split('\n')
      .filter((line) => keep.test(line))
      .join('\n') + '\n'
  );
}

/** Metric family names in an exposition (from its TYPE lines) plus every sample name. */
export function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) names.add(type[1]!);
  }
  for (const sample of parseExposition(text)) names.add(sample.name);
  return names;
}
