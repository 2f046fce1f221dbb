// Drives Prometheus blackbox_exporter the way Prometheus does: GET /probe?module=..&target=.. at
// the benchmark's concurrency, over kept-alive HTTP connections. A probe counts as ok when the
// exporter answers probe_success 1.
import { Agent, request } from 'node:http';
import { readSpec, runLoop } from './spec.js';

const spec = readSpec();
const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
const base = new URL(spec.exporterUrl ?? 'http://127.0.0.1:9115');
const modules = spec.modules ?? 1;

function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

await runLoop(spec, async (i) => {
  const module = spec.wrongPassword ? 'imap_wrong' : `imap_u${i % modules}`;
  const body = await get(`/probe?module=${module}&target=${spec.host}:${spec.port}`);
  if (!/^probe_success 1$/m.test(body)) throw new Error('probe_success 0');
});
agent.destroy();
