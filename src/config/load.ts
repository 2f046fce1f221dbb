import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type EnvKind = 'string' | 'number' | 'boolean' | 'list';

/** Environment variables that override the config file: name → [config path, kind]. */
export const ENV_VARS: Record<string, [string, EnvKind]> = {
  MAILMON_DATABASE_URL: ['database.url', 'string'],
  MAILMON_SECRET_KEY: ['secrets.key', 'string'],
  MAILMON_SECRET_KEY_FILE: ['secrets.keyFile', 'string'],
  MAILMON_HTTP_HOST: ['http.host', 'string'],
  MAILMON_HTTP_PORT: ['http.port', 'number'],
  MAILMON_HTTP_TOKEN_HASHES: ['http.tokenHashes', 'list'],
  MAILMON_HTTP_TRUSTED_PROXIES: ['http.trustedProxies', 'list'],
  MAILMON_CHECK_INTERVAL_SECONDS: ['scheduler.checkIntervalSeconds', 'number'],
  MAILMON_CONCURRENCY: ['scheduler.concurrency', 'number'],
  MAILMON_PER_HOST_CONCURRENCY: ['scheduler.perHostConcurrency', 'number'],
  MAILMON_CHECK_TIMEOUT_SECONDS: ['scheduler.checkTimeoutSeconds', 'number'],
  MAILMON_FAILED_THRESHOLD: ['status.failedThreshold', 'number'],
  MAILMON_HISTORY_RETENTION_DAYS: ['history.retentionDays', 'number'],
  MAILMON_HISTORY_PRUNE_SCHEDULE: ['history.pruneSchedule', 'string'],
  MAILMON_LOG_LEVEL: ['log.level', 'string'],
  MAILMON_LOG_FORMAT: ['log.format', 'string'],
  MAILMON_TLS_EXTRA_CA_FILE: ['tls.extraCaFile', 'string'],
  MAILMON_PROBES_TEST_SEND_TO: ['probes.testSendTo', 'string'],
  MAILMON_PROBES_IMAP_MODE: ['probes.imap.mode', 'string'],
  MAILMON_EGRESS_ALLOW_CIDRS: ['egress.allowCidrs', 'list'],
  MAILMON_EGRESS_DENY_CIDRS: ['egress.denyCidrs', 'list'],
};

/**
 * Keys older releases read, with what replaces them. A file, variable or override that still sets
 * one starts mailmon all the same (a fleet upgrades one replica at a time, with its old config) but
 * the key is ignored and `configNotices` carries a sentence that createCore logs as a warning.
 */
export const REMOVED_KEYS: Readonly<Record<string, { env?: string; instead: string }>> = {
  'scheduler.schedule': {
    env: 'MAILMON_SCHEDULE',
    instead:
      'the daemon no longer sweeps on a cron schedule, it claims each account when it falls due: ' +
      'set how often an account is checked with scheduler.checkIntervalSeconds ' +
      '(and how soon a due account is taken with replicas.pollSeconds)',
  },
  'scheduler.spreadSeconds': {
    instead:
      'check starts no longer come in bursts to spread: each account falls due at its own time ' +
      '(scheduler.checkIntervalSeconds after the last) and scheduler.concurrency bounds how many run at once',
  },
};

const notices = new WeakMap<object, readonly string[]>();

/** Sentences about the loaded config that are worth a warning (removed keys still set). */
export function configNotices(config: Readonly<Config>): readonly string[] {
  return notices.get(config) ?? [];
}

export const DEFAULT_CONFIG_PATH = 'config/mailmon.yaml';

export interface LoadConfigOptions {
  env: Record<string, string | undefined>;
  /** Extra overrides by config path (e.g. from CLI flags), applied last. */
  overrides?: Record<string, unknown>;
}

/**
 * Reads the config file (MAILMON_CONFIG, else config/mailmon.yaml when present), applies MAILMON_*
 * overrides, validates once and returns a frozen object. Throws ConfigError with a sentence naming
 * the key and what is wrong; never reads anything else from the environment.
 */
export function loadConfig({ env, overrides = {} }: LoadConfigOptions): Readonly<Config> {
  const path = env.MAILMON_CONFIG ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const raw: Record<string, unknown> =
    path === undefined ? {} : readConfigFile(path, env.MAILMON_CONFIG !== undefined);
  const sources = new Map<string, string>();
  const noted: string[] = [];
  const dropRemoved = (from: string) => {
    for (const [key, { instead }] of Object.entries(REMOVED_KEYS)) {
      if (deletePath(raw, key))
        noted.push(`config key ${key} (${from}) is no longer used and was ignored: ${instead}; remove it`);
    }
  };
  if (path !== undefined) dropRemoved(`in ${path}`);
  for (const [key, { env: name, instead }] of Object.entries(REMOVED_KEYS)) {
    if (name !== undefined && (env[name] ?? '') !== '')
      noted.push(`${name} (config key ${key}) is no longer used and was ignored: ${instead}; unset it`);
  }

  for (const [name, [key, kind]] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, key, convert(name, value, kind));
    sources.set(key, name);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) setPath(raw, key, value);
  }
  dropRemoved('from an override');

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssue(parsed.error.issues[0], sources, path));
  const config = deepFreeze(parsed.data);
  if (noted.length > 0) notices.set(config, noted);
  return config;
}

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`config file ${path}${explicit ? ' (from MAILMON_CONFIG)' : ''} ${why}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      `config file ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a mapping of sections (database:, http:, ...)`);
  }
  return data as Record<string, unknown>;
}

function convert(name: string, value: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'string':
      return value;
    case 'list':
      return value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'boolean':
      if (/^(true|1|yes)$/i.test(value)) return true;
      if (/^(false|0|no)$/i.test(value)) return false;
      throw new ConfigError(`${name} must be true or false, got "${value}"`);
    case 'number': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${name} must be a number, got "${value}"`);
      return n;
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/** Removes `path` (a.b.c) from `target`; true when it was there. */
function deletePath(target: Record<string, unknown>, path: string): boolean {
  const keys = path.split('.');
  let node: unknown = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  const last = keys[keys.length - 1] as string;
  if (typeof node !== 'object' || node === null || !(last in node)) return false;
  delete (node as Record<string, unknown>)[last];
  return true;
}

function describeIssue(
  issue: z.core.$ZodIssue | undefined,
  sources: Map<string, string>,
  file: string | undefined,
): string {
  if (issue === undefined) return 'configuration is invalid';
  const key = issue.path.join('.') || '(top level)';
  // A list element's issue (egress.allowCidrs.0) comes from the variable that set the whole list.
  const setBy = issue.path.map((_, i) => sources.get(issue.path.slice(0, i + 1).join('.'))).findLast(Boolean);
  const from = setBy ?? file;
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    return `config ${key === '(top level)' ? '' : `section ${key} `}has unknown key(s) ${issue.keys.join(', ')}${from ? ` (in ${from})` : ''}`;
  }
  if (issue.code === 'invalid_type') what = `must be ${issue.expected}`;
  what = what.replace(/^Invalid input: /, '');
  return `config key ${key}${from ? ` (from ${from})` : ''} is invalid: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
