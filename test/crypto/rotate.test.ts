import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyConfigError } from '../../src/crypto/errors.js';
import { createKeyring, type KeyEntry, type Keyring } from '../../src/crypto/keyring.js';
import {
  applyRotation,
  checkSecrets,
  planRotation,
  rotateSecrets,
  type RotateProgress,
} from '../../src/crypto/rotate.js';
import {
  assertKeyringCoversStored,
  explainMissingKey,
  storedKeyUsage,
} from '../../src/crypto/stored-secrets.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { passwordAad } from '../../src/db/account-rows.js';
import { DIALECTS, type TestDb } from '../helpers/databases.js';
import { passwordSide } from '../helpers/keyring.js';
import { describeWithPeer } from '../peers/require.js';

const keyA: KeyEntry = { id: 'A', key: randomBytes(32) };
const keyB: KeyEntry = { id: 'B', key: randomBytes(32) };
const onlyA = createKeyring([keyA], 'A');
const bThenA = createKeyring([keyB, keyA], 'B');
const onlyB = createKeyring([keyB], 'B');

interface Row {
  id: number;
  password: string;
}

for (const dialect of DIALECTS) {
  const suite = (name: string, fn: () => void) =>
    dialect.peer ? describeWithPeer(dialect.peer, name, fn) : describe(name, fn);

  suite(`stored secrets: usage, check and rotation on ${dialect.name}`, () => {
    let t: TestDb;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(async () => {
      await t?.cleanup();
    });

    const rows = async (): Promise<Row[]> =>
      t.db
        .knex('service_auth')
        .select({ id: 'service_auth_id', password: 'password' })
        .orderBy('service_auth_id');

    /** `n` accounts with both sides, saved under `keyring`; returns service_auth id → plaintext. */
    async function seed(n: number, keyring: Keyring, tag = 'pw'): Promise<Map<number, string>> {
      const repo = new KnexAccountRepository(t.db.knex, keyring);
      const ids = await repo.saveAccounts(
        Array.from({ length: n }, (_, i) => ({
          emailAddress: `${tag}${i}@example.test`,
          associateId: 1,
          incoming: passwordSide(`${tag}-in-${i}-${randomBytes(4).toString('hex')}`),
          outgoing: passwordSide(`${tag}-out-${i}-${randomBytes(4).toString('hex')}`),
        })),
      );
      const plain = new Map<number, string>();
      for (const id of ids) {
        const account = await repo.getAccountWithSecrets(id);
        for (const auth of [account!.incoming!, account!.outgoing!])
          plain.set(auth.serviceAuthId, auth.password);
      }
      return plain;
    }

    /** Every row decrypts under `keyring` to what was saved, and is under `keyId`. */
    async function expectAll(plain: Map<number, string>, keyring: Keyring, keyId: string) {
      const stored = await rows();
      expect(stored.map((r) => r.id).sort()).toEqual([...plain.keys()].sort());
      for (const row of stored) {
        expect(keyring.keyIdOf(row.password)).toBe(keyId);
        expect(keyring.decrypt(row.password, passwordAad(row.id))).toBe(plain.get(row.id));
      }
    }

    it('counts rows per key id, telling ids apart that differ only in case', async () => {
      expect(await storedKeyUsage(t.db.knex)).toEqual({ rows: 0, byKey: [] });
      await seed(2, onlyA);
      await seed(1, createKeyring([{ id: 'a', key: randomBytes(32) }], 'a'), 'lower');
      const usage = await storedKeyUsage(t.db.knex);
      expect(usage.rows).toBe(6);
      expect(usage.byKey.map((k) => [k.keyId, k.rows])).toEqual([
        ['A', 4],
        ['a', 2],
      ]);
      const sampleA = usage.byKey[0]!.sampleId;
      expect(onlyA.keyIdOf((await rows()).find((r) => r.id === sampleA)!.password)).toBe('A');
    });

    it('rotates every row from A to B in batches; values decrypt the same before and after', async () => {
      const plain = await seed(5, onlyA);
      await expectAll(plain, bThenA, 'A'); // the new keyring still reads the old rows
      const progress: RotateProgress[] = [];
      const summary = await rotateSecrets(t.db.knex, bThenA, {
        batchSize: 3,
        onProgress: (p) => progress.push(p),
      });
      expect(summary).toMatchObject({
        activeKeyId: 'B',
        pending: 10,
        rotated: 10,
        changedConcurrently: 0,
        failed: [],
        batches: 4,
        aborted: false,
        remaining: 0,
      });
      expect(progress.map((p) => p.done)).toEqual([3, 6, 9, 10]);
      await expectAll(plain, onlyB, 'B'); // key A is no longer needed
      // A second run finds nothing to do.
      expect(await rotateSecrets(t.db.knex, bThenA)).toMatchObject({ pending: 0, rotated: 0, batches: 0 });
    });

    it('an aborted rotation keeps its committed batches and the next run finishes the rest', async () => {
      const plain = await seed(4, onlyA);
      const controller = new AbortController();
      const first = await rotateSecrets(t.db.knex, bThenA, {
        batchSize: 3,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
      expect(first).toMatchObject({ pending: 8, rotated: 3, batches: 1, aborted: true, remaining: 5 });
      const byKey = Object.fromEntries((await storedKeyUsage(t.db.knex)).byKey.map((k) => [k.keyId, k.rows]));
      expect(byKey).toEqual({ A: 5, B: 3 });

      const second = await rotateSecrets(t.db.knex, bThenA, { batchSize: 3 });
      expect(second).toMatchObject({ pending: 5, rotated: 5, batches: 2, aborted: false, remaining: 0 });
      await expectAll(plain, bThenA, 'B');
    });

    it('check proves every row decrypts, and names tampered, moved and malformed rows without values', async () => {
      const plain = await seed(3, onlyA);
      const early = await rotateSecrets(t.db.knex, bThenA, { signal: AbortSignal.abort() });
      expect(early).toMatchObject({ pending: 6, rotated: 0, aborted: true, remaining: 6 });
      await seed(1, bThenA, 'new');
      const clean = await checkSecrets(t.db.knex, bThenA);
      expect(clean).toMatchObject({ total: 8, ok: 8, needRotation: 6, failures: [] });
      expect(clean.byKey).toEqual([
        { keyId: 'B', active: true, ok: 2, failed: 0 },
        { keyId: 'A', active: false, ok: 6, failed: 0 },
      ]);

      const [r1, r2, r3] = await rows();
      const flip = (s: string) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.slice(-1);
      const set = (id: number, password: string) =>
        t.db.knex('service_auth').where('service_auth_id', id).update({ password });
      await set(r1!.id, flip(r1!.password)); // altered ciphertext
      await set(r2!.id, r3!.password); // a ciphertext copied to another row (aad mismatch)
      await set(r3!.id, 'not encrypted');

      const result = await checkSecrets(t.db.knex, bThenA);
      expect(result.failures).toEqual([
        { serviceAuthId: r1!.id, keyId: 'A', code: 'tampered' },
        { serviceAuthId: r2!.id, keyId: 'A', code: 'tampered' },
        { serviceAuthId: r3!.id, keyId: null, code: 'malformed' },
      ]);
      expect(result).toMatchObject({ total: 8, ok: 5 });
      expect(result.byKey.find((k) => k.keyId === 'A')).toMatchObject({ ok: 3, failed: 2 });
      const report = JSON.stringify(result);
      for (const value of plain.values()) expect(report).not.toContain(value);
      for (const row of [r1!, r2!, r3!]) expect(report).not.toContain(row.password.slice(-20));

      // A rotation leaves the broken rows alone and reports them; the rest move to B.
      const rotation = await rotateSecrets(t.db.knex, bThenA, { batchSize: 2 });
      expect(rotation.failed.map((f) => [f.serviceAuthId, f.code])).toEqual([
        [r1!.id, 'tampered'],
        [r2!.id, 'tampered'],
        [r3!.id, 'malformed'],
      ]);
      expect(rotation).toMatchObject({ rotated: 3, remaining: 3 });
    });

    it('never overwrites a password saved between the rotation reading a row and writing it', async () => {
      await seed(2, onlyA);
      const before = await rows();
      const { plans, failures } = planRotation(before, bThenA);
      expect(failures).toEqual([]);
      // The API saves a new password for the first account (incoming row) meanwhile.
      const repo = new KnexAccountRepository(t.db.knex, bThenA);
      const accountId = (await repo.listAccounts()).items[0]!.emailAccountId;
      const account = (await repo.getAccountWithSecrets(accountId))!;
      await repo.saveAccounts([
        {
          emailAccountId: accountId,
          emailAddress: account.emailAddress,
          associateId: 1,
          incoming: passwordSide('saved-meanwhile'),
          outgoing: { ...passwordSide('unused'), password: undefined },
        },
      ]);
      const changedId = account.incoming!.serviceAuthId;
      const { written, conflicts } = await applyRotation(t.db.knex, plans);
      expect(conflicts).toEqual([changedId]);
      expect(written).toEqual(before.map((r) => r.id).filter((id) => id !== changedId));
      const after = (await rows()).find((r) => r.id === changedId)!;
      expect(bThenA.decrypt(after.password, passwordAad(changedId))).toBe('saved-meanwhile');
    });

    it('runs beside a process re-saving passwords under the old key: the last save always wins', async () => {
      await seed(6, onlyA);
      const accountIds = (await new KnexAccountRepository(t.db.knex, bThenA).listAccounts()).items.map(
        (a) => a.emailAccountId,
      );
      const spec = `A:${keyA.key.toString('hex')}`; // an old process that still encrypts under A
      const writer = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/crypto/secret-writer.ts', t.url, spec, '15', ...accountIds.map(String)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      writer.stdout.on('data', (d: Buffer) => (out += d.toString()));
      writer.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => writer.on('close', resolve));
      // Rotate repeatedly, one row per transaction, until the writer is done.
      let running = true;
      void exited.then(() => (running = false));
      const summaries = [];
      do {
        summaries.push(await rotateSecrets(t.db.knex, bThenA, { batchSize: 1 }));
      } while (running);
      expect(await exited, err).toBe(0);
      summaries.push(await rotateSecrets(t.db.knex, bThenA, { batchSize: 1 }));

      const { last } = JSON.parse(out) as { last: Record<string, string> };
      const repo = new KnexAccountRepository(t.db.knex, onlyB);
      for (const id of accountIds) {
        const account = await repo.getAccountWithSecrets(id);
        expect([account?.incoming?.password, account?.outgoing?.password]).toEqual([last[id], last[id]]);
      }
      expect(summaries.reduce((n, s) => n + s.rotated, 0)).toBeGreaterThanOrEqual(12);
      expect(summaries.flatMap((s) => s.failed)).toEqual([]);
      // The writer is an old process still encrypting under A; after it stops, one more run finishes.
      expect(summaries.at(-1)?.remaining).toBe(0);
      expect((await storedKeyUsage(t.db.knex)).byKey.map((k) => k.keyId)).toEqual(['B']);
    });

    it('start-up guard: names key ids the keyring lacks, never a key; explains a missing key', async () => {
      await seed(2, onlyA);
      await seed(1, createKeyring([{ id: 'old_2', key: randomBytes(32) }], 'old_2'), 'old');
      const usage = await storedKeyUsage(t.db.knex);
      await expect(assertKeyringCoversStored(t.db.knex, bThenA, usage, 'src')).rejects.toThrow(
        /^2 stored secret\(s\) are encrypted under key id\(s\) "old_2" \(2 rows\), which src does not contain; /,
      );
      const error = await assertKeyringCoversStored(t.db.knex, onlyB, usage, 'key file /k').catch((e) => e);
      expect(error).toBeInstanceOf(KeyConfigError);
      expect(error.message).toMatch(
        /^6 stored secret\(s\) are encrypted under key id\(s\) "A" \(4 rows\), "old_2"/,
      );
      expect(error.message).not.toContain(keyA.key.toString('base64'));
      // A keyring holding every id passes, even when the active key has no rows yet.
      const all = createKeyring([keyB, keyA, { id: 'old_2', key: randomBytes(32) }], 'B');
      await expect(assertKeyringCoversStored(t.db.knex, all, usage, 'src')).resolves.toBeUndefined();

      const missing = new KeyConfigError(
        'missing',
        'key file /k does not exist and MAILMON_SECRET_KEY is not set',
      );
      const explained = explainMissingKey(missing, usage) as KeyConfigError;
      expect(explained.message).toBe(
        'the database holds 6 encrypted secret(s) under key id(s) "A" (4 rows), "old_2" (2 rows) but key file /k ' +
          'does not exist and MAILMON_SECRET_KEY is not set; restore that key from backup (a new key cannot decrypt them)',
      );
      expect(explainMissingKey(missing, { rows: 0, byKey: [] })).toBe(missing);
    });
  });
}
