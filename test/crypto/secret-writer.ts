// A separate process that keeps re-saving passwords, as the API or `accounts import` would while a
// rotation runs: the concurrent writer of the rotation race test. Prints the last password it saved
// per account as JSON. argv: DB_URL KEYRING(id:hexkey,... first active) ROUNDS ACCOUNT_ID...
import { createKeyring } from '../../src/crypto/keyring.js';
import { KnexAccountRepository } from '../../src/db/account-store.js';
import { openDatabase } from '../../src/db/connection.js';
import { passwordSide } from '../helpers/keyring.js';

const [url, keySpec, roundsText, ...idTexts] = process.argv.slice(2) as [string, string, string, ...string[]];
const keys = keySpec.split(',').map((entry) => {
  const [id, hex] = entry.split(':') as [string, string];
  return { id, key: Buffer.from(hex, 'hex') };
});
const db = openDatabase(url);
const repo = new KnexAccountRepository(db.knex, createKeyring(keys, keys[0]!.id));

const last: Record<number, string> = {};
let busyRetries = 0;
try {
  for (let round = 0; round < Number(roundsText); round++) {
    for (const id of idTexts.map(Number)) {
      const password = `writer-${id}-${round}`;
      const input = { emailAccountId: id, emailAddress: `a${id}@example.test`, associateId: 1 };
      // SQLite answers SQLITE_BUSY when another process committed between this transaction's read
      // and its write (a deferred transaction cannot upgrade a stale snapshot): retry like a client.
      for (;;) {
        try {
          await repo.saveAccounts([
            {
              ...input,
              incoming: passwordSide(password, 'writer'),
              outgoing: passwordSide(password, 'writer'),
            },
          ]);
          break;
        } catch (error) {
          if (!/SQLITE_BUSY/.test(String((error as { code?: string }).code))) throw error;
          busyRetries += 1;
        }
      }
      last[id] = password;
    }
  }
  process.stdout.write(JSON.stringify({ last, busyRetries }));
} finally {
  await db.close();
}
