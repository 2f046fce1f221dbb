// Real wiring for the compat route tests: a fastify server on 127.0.0.1:0, probes that talk to real
// mail servers, and the real account repository on SQLite.
import { performance } from 'node:perf_hooks';
import { format } from 'node:util';

import Fastify, { type FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import nodemailer from 'nodemailer';

import type { AccountRepository } from '../../../src/accounts/repository.js';
import { saveEMailAccount } from '../../../src/http/compat-deps.js';
import type { CompatDeps, CompatPluginOptions } from '../../../src/http/compat/index.js';
import type { FailureCode } from '../../../src/probes/errors.js';
import { createImapProbe } from '../../../src/probes/imap.js';
import { createSmtpProbe } from '../../../src/probes/smtp.js';
import { CheckObserver } from '../../../src/checks/check-observer.js';
import { createLogger } from '../../../src/logging/logger.js';
import { newMetrics } from '../../metrics/fixtures.js';
import type { ProbeResult, ProbeTarget, TranscriptLine } from '../../../src/probes/types.js';

const PROBE_TIMEOUT_MS = 5_000;

function nodemailerCode(err: { code?: string; message?: string }): FailureCode {
  const message = err.message ?? '';
  if (err.code === 'EAUTH') return 'auth_rejected';
  if (/ECONNREFUSED/.test(message)) return 'connection_refused';
  if (/self[- ]signed|unable to (verify|get)/i.test(message)) return 'tls_cert_untrusted';
  if (err.code === 'ETLS' || /TLS|SSL|wrong version/i.test(message)) return 'tls_handshake_failed';
  if (err.code === 'ETIMEDOUT') return 'connect_timeout';
  return 'network_error';
}

/**
 * Stand-in for auth-less SMTP targets (username '': Oracle's sample, the dealer API's smtpUseAuth
 * "false"), which src/probes/smtp.ts does not support yet (it always logs in): nodemailer's verify()
 * against the real server (connect, EHLO, STARTTLS), with nodemailer's redacted debug log as the
 * transcript. The outcome comes from the server, nothing is hard-coded.
 */
async function verifySmtp(target: ProbeTarget, caPem: string): Promise<ProbeResult> {
  const started = performance.now();
  const transcript: TranscriptLine[] = [];
  const capture = (entry: { tnx?: string } | undefined, message: string, ...args: unknown[]) => {
    if (entry?.tnx !== 'client' && entry?.tnx !== 'server') return;
    for (const line of format(message, ...args).split(/\r?\n/)) {
      transcript.push({
        t: Math.round(performance.now() - started),
        dir: entry.tnx === 'client' ? 'C' : 'S',
        line,
      });
    }
  };
  const logger = {
    trace: capture,
    debug: capture,
    info: capture,
    warn: capture,
    error: capture,
    fatal: capture,
  };
  const transport = nodemailer.createTransport({
    host: target.host,
    port: target.port,
    secure: target.security === 'tls',
    requireTLS: target.security === 'starttls',
    ignoreTLS: target.security === 'none',
    ...(target.username === '' ? {} : { auth: { user: target.username, pass: target.secret } }),
    tls: { ca: [target.caPem ?? caPem], rejectUnauthorized: !target.acceptUnverifiedCert },
    connectionTimeout: PROBE_TIMEOUT_MS,
    greetingTimeout: PROBE_TIMEOUT_MS,
    socketTimeout: PROBE_TIMEOUT_MS,
    logger: logger as never,
    debug: true,
  });
  const base = { protocol: 'smtp' as const, phases: [], transcript };
  try {
    await transport.verify();
    return {
      ...base,
      ok: true,
      code: null,
      phase: null,
      reason: null,
      durationMs: performance.now() - started,
    };
  } catch (thrown) {
    const err = thrown as { code?: string; message?: string; response?: string };
    const code = nodemailerCode(err);
    const reason = `${code}: ${err.response ?? err.message ?? 'SMTP test failed'}`;
    return {
      ...base,
      ok: false,
      code,
      phase: code === 'auth_rejected' ? 'auth' : 'connect',
      reason,
      durationMs: performance.now() - started,
    };
  } finally {
    transport.close();
  }
}

export interface ProbeRunner {
  testTargets: CompatDeps['testTargets'];
  /** Every batch handed to testTargets, in call order. */
  calls: ProbeTarget[][];
}

/**
 * Runs every target concurrently through mailmon's real IMAP and SMTP probes (auth-less SMTP
 * through verifySmtp above). `caPem` plays the daemon's trust store (the test CA signed the
 * servers' certificates).
 */
export function createProbeRunner(caPem: string): ProbeRunner {
  const probes = { imap: createImapProbe(), smtp: createSmtpProbe() };
  const calls: ProbeTarget[][] = [];
  const run = (target: ProbeTarget): Promise<ProbeResult> => {
    if (target.protocol === 'smtp' && target.username === '') return verifySmtp(target, caPem);
    const options = { signal: new AbortController().signal, timeoutMs: PROBE_TIMEOUT_MS };
    return probes[target.protocol].run({ ...target, caPem: target.caPem ?? caPem }, options);
  };
  return {
    calls,
    testTargets: async (targets) => {
      calls.push(targets);
      return Promise.all(targets.map(run));
    },
  };
}

/** CompatDeps for a plugin that only tests credentials (dealer, Oracle): no stored passwords, no saving. */
export function testOnlyDeps(probes: ProbeRunner): CompatDeps {
  return {
    testTargets: probes.testTargets,
    findStoredSmtpPassword: async () => null,
    saveEMailAccount: async () => {
      throw new Error('not used by this plugin');
    },
  };
}

/** CompatDeps' account half on the real repository, as the daemon wires it (the save service). */
export function repositoryDeps(repository: AccountRepository): Omit<CompatDeps, 'testTargets'> {
  const observer = new CheckObserver(newMetrics(), createLogger({ level: 'silent', pretty: false }));
  const deps = { repo: repository, observer };
  return {
    findStoredSmtpPassword: (server, port, username) =>
      repository.findStoredPassword('smtp', server, port, username),
    saveEMailAccount: (account) => saveEMailAccount(deps, account),
  };
}

export interface CompatServer {
  app: FastifyInstance;
  url: string;
  /** Every response body this server sent, for the no-secret checks. */
  bodies: string[];
  post(path: string, body: string | object, headers?: Record<string, string>): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
}

/** Starts fastify with one compat plugin on 127.0.0.1, port 0. */
export async function startCompatServer(
  plugin: FastifyPluginAsyncZod<CompatPluginOptions>,
  deps: CompatDeps,
): Promise<CompatServer> {
  const app = Fastify({ logger: false });
  await app.register(plugin, { deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  const bodies: string[] = [];
  return {
    app,
    url,
    bodies,
    async post(path, body, headers = {}) {
      const isText = typeof body === 'string';
      const response = await fetch(url + path, {
        method: 'POST',
        headers: {
          'content-type': isText ? 'application/soap+xml; charset=utf-8' : 'application/json; charset=utf-8',
          ...headers,
        },
        body: isText ? body : JSON.stringify(body),
      });
      const text = await response.text();
      bodies.push(text);
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, json };
    },
    close: () => app.close(),
  };
}

/** Bodies that contain any of the secrets (with which secret), for `expect(...).toEqual([])`. */
export function leakedSecrets(bodies: readonly string[], secrets: readonly string[]): string[] {
  return bodies.flatMap((body) =>
    secrets.filter((secret) => body.includes(secret)).map((secret) => `${secret} in ${body.slice(0, 200)}`),
  );
}
