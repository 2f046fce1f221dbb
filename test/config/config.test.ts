import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, configNotices, loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('loadConfig', () => {
  it('the documented file holds exactly the defaults (so the docs cannot drift)', () => {
    const fromFile = loadConfig({ env: { MAILMON_CONFIG: 'config/mailmon.yaml' } });
    expect(isDeepStrictEqual(plain(fromFile), plain(configSchema.parse({})))).toBe(true);
  });

  it('the documented file mentions every environment variable', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile('config/mailmon.yaml', 'utf8');
    const readme = await readFile('README.md', 'utf8');
    for (const name of Object.keys(ENV_VARS)) {
      expect(text.includes(name) || readme.includes(name), name).toBe(true);
    }
  });

  it('environment variables override the file, and the result is frozen', () => {
    const config = loadConfig({
      env: {
        MAILMON_CONFIG: '/dev/null',
        MAILMON_HTTP_PORT: '8080',
        MAILMON_EGRESS_ALLOW_CIDRS: '10.0.0.0/8, 127.0.0.1',
      },
    });
    expect(config.http.port).toBe(8080);
    expect(config.egress.allowCidrs).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it.each([
    [{ MAILMON_HTTP_PORT: 'abc' }, 'MAILMON_HTTP_PORT must be a number, got "abc"'],
    [{ MAILMON_HTTP_PORT: '70000' }, 'config key http.port (from MAILMON_HTTP_PORT) is invalid: too big'],
    [
      { MAILMON_CONCURRENCY: '0' },
      'config key scheduler.concurrency (from MAILMON_CONCURRENCY) is invalid: too small',
    ],
    [
      { MAILMON_HISTORY_PRUNE_SCHEDULE: 'every tuesday' },
      'config key history.pruneSchedule (from MAILMON_HISTORY_PRUNE_SCHEDULE) is invalid: is not a valid cron expression',
    ],
    [
      { MAILMON_DATABASE_URL: 'postgres://x' },
      'config key database.url (from MAILMON_DATABASE_URL) is invalid: must start with sqlite:',
    ],
    [{ MAILMON_LOG_LEVEL: 'loud' }, 'config key log.level (from MAILMON_LOG_LEVEL) is invalid'],
    [
      { MAILMON_EGRESS_ALLOW_CIDRS: '127.1/8' },
      'config key egress.allowCidrs.0 (from MAILMON_EGRESS_ALLOW_CIDRS) is invalid',
    ],
    [
      { MAILMON_HTTP_TRUSTED_PROXIES: '10.0.0.5, proxy.internal' },
      'config key http.trustedProxies.1 (from MAILMON_HTTP_TRUSTED_PROXIES) is invalid: expected a proxy address',
    ],
    [
      { MAILMON_CONFIG: '/nonexistent/mailmon.yaml' },
      'config file /nonexistent/mailmon.yaml (from MAILMON_CONFIG) does not exist',
    ],
  ])('%o is refused with a sentence naming the key', (env, message) => {
    expect(() => loadConfig({ env: { MAILMON_CONFIG: '/dev/null', ...env } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { MAILMON_CONFIG: '/dev/null', ...env } })).toThrow(message);
  });

  it('an old file or variable setting a removed key starts, and the notice names the key and its replacement', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mailmon-config-'));
    const file = join(dir, 'mailmon.yaml');
    await writeFile(file, "scheduler:\n  schedule: '*/5 * * * *'\n  spreadSeconds: 60\n  concurrency: 4\n");
    const config = loadConfig({ env: { MAILMON_CONFIG: file, MAILMON_SCHEDULE: '* * * * *' } });
    expect(config.scheduler.concurrency).toBe(4);
    expect(config.scheduler).not.toHaveProperty('schedule');
    const notices = configNotices(config);
    expect(notices).toHaveLength(3);
    expect(notices[0]).toMatch(
      new RegExp(
        `^config key scheduler\\.schedule \\(in ${file}\\) is no longer used and was ignored: .*scheduler\\.checkIntervalSeconds.*; remove it$`,
      ),
    );
    expect(notices[1]).toMatch(
      /^config key scheduler\.spreadSeconds .* is no longer used .*scheduler\.concurrency/,
    );
    expect(notices[2]).toMatch(
      /^MAILMON_SCHEDULE \(config key scheduler\.schedule\) is no longer used .*; unset it$/,
    );
    expect(configNotices(loadConfig({ env: { MAILMON_CONFIG: '/dev/null' } }))).toEqual([]);
  });

  it('names unknown keys in the file', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mailmon-config-'));
    const file = join(dir, 'mailmon.yaml');
    await writeFile(file, 'scheduler:\n  concurency: 4\n');
    expect(() => loadConfig({ env: { MAILMON_CONFIG: file } })).toThrow(
      `config section scheduler has unknown key(s) concurency (in ${file})`,
    );
    await writeFile(file, 'database: [1, 2\n');
    expect(() => loadConfig({ env: { MAILMON_CONFIG: file } })).toThrow(/is not valid YAML/);
  });
});
