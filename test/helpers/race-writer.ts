// A separate process that records N failed checks for one account: the "second writer" of the
// race tests (a second process, as a second daemon or the CLI would be).
import { createKeyring } from '../../src/crypto/keyring.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { openDatabase } from '../../src/db/connection.js';

const [url, idText, countText, keyHex] = process.argv.slice(2) as [string, string, string, string];
const db = openDatabase(url);
const repo = new KnexAccountRepository(
  db.knex,
  createKeyring([{ id: 'test', key: Buffer.from(keyHex, 'hex') }], 'test'),
);
const at = new Date();
try {
  for (let i = 0; i < Number(countText); i++) {
    await repo.recordCheck(
      Number(idText),
      {
        checkedAt: at,
        outcome: { ok: false, reason: 'race' },
        sides: [],
        nextDueAt: at,
      },
      3,
    );
  }
} finally {
  await db.close();
}
