// Delivering into a Dovecot mailbox the way an MTA does: LMTP (nodemailer's SMTPConnection in
// LMTP mode) to Dovecot's lmtp listener. Quota, Sieve-less folder detail and all.
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** Deliver `rfc822` to `to` over LMTP at 127.0.0.1:`port`; rejects with the server's refusal. */
export async function lmtpDeliver(port: number, from: string, to: string, rfc822: string): Promise<void> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port,
    lmtp: true,
    ignoreTLS: true,
    name: 'relay.test',
  });
  conn.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      conn.send({ from, to: [to] }, rfc822, (err, info) => {
        if (err) return reject(err);
        // LMTP answers per recipient: a refused recipient comes back here, not as err.
        if (info.rejected.length > 0)
          return reject(new Error(`LMTP refused ${to}: ${JSON.stringify(info.rejectedErrors ?? [])}`));
        resolve();
      });
    });
    conn.quit();
  } finally {
    conn.close();
  }
}
