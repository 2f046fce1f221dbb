import { Writable } from 'node:stream';
import { createCore, type Core } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging/logger.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';

/** Captures log lines (JSON) so tests can assert on them, including the absence of secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/**
 * A core on a test database with loopback probes allowed (the egress policy refuses loopback by
 * default, and every test server lives there).
 */
export async function testCore(
  databaseUrl: string,
  overrides: Record<string, unknown> = {},
): Promise<{ core: Core; logs: LogCapture }> {
  const config = loadConfig({
    env: { MAILMON_CONFIG: '/dev/null', MAILMON_SECRET_KEY: generateKeyLine('t1') },
    overrides: {
      'database.url': databaseUrl,
      'egress.allowCidrs': ['127.0.0.0/8', '::1/128'],
      'egress.allowedPorts': null,
      'egress.tokenEndpointPorts': null,
      'scheduler.checkTimeoutSeconds': 3,
      'http.port': 0,
      ...overrides,
    },
  });
  const logs = new LogCapture();
  const logger = createLogger({ level: 'info', pretty: false, destination: logs });
  return { core: await createCore({ config, logger }), logs };
}
