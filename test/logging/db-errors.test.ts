// A failed query's error reaches the log as its code and the driver's message, never as knex's
// SQL with every value filled in (which would hold a secret's ciphertext). Real failing queries on
// both dialects, logged through the real logger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { safeErrorMessage, safeErrorStack } from '../../src/logging/safe-error.js';
import { LogCapture } from '../helpers/core.js';
import { mariadbTestDb, sqliteTestDb, type TestDb } from '../helpers/databases.js';
import { describeWithPeer } from '../peers/require.js';

const CIPHER = 'mm1:t1:Zq9xCanaryIv:CipherCanaryQ7w2';
const USER_CANARY = 'user-canary-8d1f';

/** Every way mailmon logs an error, one line each. */
function logEveryWay(err: Error): LogCapture {
  const logs = new LogCapture();
  const logger = createLogger({ level: 'info', pretty: false, destination: logs });
  logger.error({ err }, 'save failed');
  logger.error({ err });
  logger.error(err);
  logger.warn({ error: err }, 'as error');
  logger.error({ err: new Error('saving the account failed', { cause: err }) }, 'wrapped');
  logger.child({ component: 'store' }).error({ err }, 'child');
  return logs;
}

function expectNoSql(text: string): void {
  expect(text).not.toContain(CIPHER);
  expect(text).not.toContain('CipherCanary');
  expect(text).not.toContain(USER_CANARY);
  expect(text).not.toMatch(/insert into/i);
}

async function failingInsert(testDb: TestDb, username: string): Promise<Error> {
  try {
    await testDb.db.knex('service_auth').insert({
      server: 'imap.example.test',
      port: 993,
      auth_type: 'password',
      username,
      password: CIPHER,
      security: 'tls',
      registered: 0,
      updated: 0,
      // NOT NULL on both dialects: SQLite enforces this, not VARCHAR lengths.
      ...(testDb.url.startsWith('sqlite') ? { server: null } : {}),
    });
  } catch (error) {
    return error as Error;
  }
  throw new Error('the insert was expected to fail');
}

describeWithPeer('mariadb', 'database errors in logs on MariaDB', () => {
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await mariadbTestDb();
  });
  afterAll(async () => {
    await testDb?.cleanup();
  });

  it('a too-long value is logged as ER_DATA_TOO_LONG with the column, without the SQL or its values', async () => {
    const err = await failingInsert(testDb, `${USER_CANARY}${'u'.repeat(300)}`);
    // The precondition: knex really put the SQL with the values into the message.
    expect(err.message).toContain(CIPHER);
    expect((err as { sql?: string }).sql).toContain(CIPHER);

    const logs = logEveryWay(err);
    expectNoSql(logs.text);
    const lines = logs.parsed();
    expect(lines).toHaveLength(6);
    const expected = "ER_DATA_TOO_LONG: Data too long for column 'username' at row 1";
    for (const line of lines) expect(JSON.stringify(line)).toContain(expected);
    const [first, bare, itself, asError, wrapped] = lines as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any -- log lines
    expect(first?.err).toMatchObject({ type: 'Error', code: 'ER_DATA_TOO_LONG', message: expected });
    expect(first?.err.errno).toBe(1406);
    expect(first?.err.sql).toBeUndefined();
    expect(first?.err.stack).toMatch(new RegExp(`^Error: ${expected}\\n\\s+at `));
    expect(bare?.msg).toBe(expected);
    expect(itself?.msg).toBe(expected);
    expect(asError?.error.message).toBe(expected);
    // The cause chain stays readable.
    expect(wrapped?.err.message).toBe(`saving the account failed: ${expected}`);
    expect(wrapped?.err.stack).toContain(`caused by: Error: ${expected}`);

    // The error itself is not changed: code that handles it still sees what knex made.
    expect(err.message).toContain(CIPHER);
  });

  it('the HTTP handlers’ message and stack helpers drop the SQL', async () => {
    const err = await failingInsert(testDb, `${USER_CANARY}${'u'.repeat(300)}`);
    expect(safeErrorMessage(err)).toBe("ER_DATA_TOO_LONG: Data too long for column 'username' at row 1");
    expectNoSql(safeErrorStack(err) ?? '');
  });
});

describe('database errors in logs on SQLite', () => {
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await sqliteTestDb();
  });
  afterAll(async () => {
    await testDb?.cleanup();
  });

  it('a constraint failure is logged as its code and SQLite’s message, without the SQL', async () => {
    const err = await failingInsert(testDb, USER_CANARY);
    expect(err.message).toContain(CIPHER);

    const logs = logEveryWay(err);
    expectNoSql(logs.text);
    const expected = 'SQLITE_CONSTRAINT_NOTNULL: NOT NULL constraint failed: service_auth.server';
    const lines = logs.parsed() as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any -- log lines
    expect(lines[0]?.err).toMatchObject({ type: 'SqliteError', message: expected });
    expect(lines[4]?.err.message).toBe(`saving the account failed: ${expected}`);
  });

  it('other errors keep their message', () => {
    const err = new Error('update failed because - reasons');
    expect(safeErrorMessage(err)).toBe(err.message);
    const logs = new LogCapture();
    createLogger({ level: 'info', pretty: false, destination: logs }).error({ err }, 'x');
    expect((logs.parsed()[0] as { err: { message: string } }).err.message).toBe(err.message);
  });
});
