// The real daemon on 127.0.0.1:0 with the API, a fresh SQLite database in a temp dir, captured logs,
// and a small fetch wrapper that keeps every response body for the no-secret checks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, type Core } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { generateKeyLine } from '../../src/crypto/key-source.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { LookupAll } from '../../src/egress/resolver.js';
import { hashToken } from '../../src/http/auth.js';
import { createLogger } from '../../src/logging/logger.js';
import { assertNoCanary } from '../helpers/canary.js';
import { LogCapture } from '../helpers/core.js';

export const TOKEN = 'mailmon-test-token-4f1c9a7e';

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted on field by field
}

export interface RequestOptions {
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  raw?: string;
  contentType?: string;
  /** Bearer token; null sends no Authorization header. Default TOKEN. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface ApiServer {
  core: Core;
  daemon: Daemon;
  url: string;
  logs: LogCapture;
  /** Every response body this server sent, for the no-secret checks. */
  bodies: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface ApiServerOptions {
  /** Config overrides by path. Default: loopback allowed (the test servers live there), any port. */
  overrides?: Record<string, unknown>;
  /** Name lookup for the egress policy. */
  lookup?: LookupAll;
  /** Written to a file and configured as tls.extraCaFile (the test CA). */
  extraCaPem?: string;
  /** Tokens whose digests are configured (default [TOKEN]). */
  tokens?: string[];
  /** MAILMON_SECRET_KEY (default a fresh key): give one to share the database with a CLI run. */
  secretKey?: string;
}

/** Starts the daemon (scheduler off: only the API tests accounts) with the API on 127.0.0.1:0. */
export async function startApi(options: ApiServerOptions = {}): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mailmon-api-'));
  try {
    const caFile = join(dir, 'extra-ca.pem');
    if (options.extraCaPem !== undefined) writeFileSync(caFile, options.extraCaPem);
    const config = loadConfig({
      env: { MAILMON_CONFIG: '/dev/null', MAILMON_SECRET_KEY: options.secretKey ?? generateKeyLine('t1') },
      overrides: {
        'database.url': `sqlite:${join(dir, 'mailmon.sqlite')}`,
        'egress.allowCidrs': ['127.0.0.0/8', '::1/128'],
        'egress.allowedPorts': null,
        'egress.tokenEndpointPorts': null,
        'scheduler.enabled': false,
        'scheduler.checkTimeoutSeconds': 5,
        'http.host': '127.0.0.1',
        'http.port': 0,
        'http.tokenHashes': (options.tokens ?? [TOKEN]).map(hashToken),
        'http.testRateLimitPerMinute': 10_000,
        ...(options.extraCaPem === undefined ? {} : { 'tls.extraCaFile': caFile }),
        ...options.overrides,
      },
    });
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', pretty: false, destination: logs });
    const core = await createCore({ config, logger, ...(options.lookup ? { lookup: options.lookup } : {}) });
    let daemon: Daemon;
    try {
      daemon = await startDaemon(core);
    } catch (error) {
      await core.close();
      throw error;
    }
    const bodies: string[] = [];
    return {
      core,
      daemon,
      url: daemon.url,
      logs,
      bodies,
      request: async (method, path, request = {}) => {
        const token = request.token === undefined ? TOKEN : request.token;
        const hasBody = request.raw !== undefined || request.body !== undefined;
        const response = await fetch(daemon.url + path, {
          method,
          headers: {
            ...(hasBody ? { 'content-type': request.contentType ?? 'application/json' } : {}),
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
            ...request.headers,
          },
          ...(hasBody ? { body: request.raw ?? JSON.stringify(request.body) } : {}),
        });
        const text = await response.text();
        bodies.push(text);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        return { status: response.status, headers: response.headers, text, json };
      },
      close: async () => {
        await daemon.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Fails when any text holds any secret in any spelling (test/helpers/canary.ts does the search). */
export function expectNoSecrets(texts: readonly string[], secrets: readonly string[]): void {
  texts.forEach((text, i) => assertNoCanary(text, secrets, `output ${i}`));
}

/** A native credentials body for a local server. */
export function side(
  server: { port: number; caPem?: string },
  password: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server: '127.0.0.1',
    port: server.port,
    security: 'starttls',
    username: 'alice',
    password,
    ...(server.caPem === undefined ? {} : { caPem: server.caPem }),
    ...extra,
  };
}
