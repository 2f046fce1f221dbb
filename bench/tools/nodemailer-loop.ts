// The SMTP floor: nodemailer's verify() (EHLO, STARTTLS, EHLO, AUTH, QUIT) against Dovecot
// submission, one transport per check as a check of a stored account needs.
import nodemailer from 'nodemailer';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { readSpec, runLoop } from './spec.js';

const spec = readSpec();
const secureContext = createSecureContext({ ca: readFileSync(spec.caPath, 'utf8') });

await runLoop(spec, async (i) => {
  const transport = nodemailer.createTransport({
    host: spec.host,
    port: spec.port,
    secure: false,
    requireTLS: true,
    tls: { secureContext },
    auth: {
      user: `u${String(i % spec.users).padStart(6, '0')}`,
      pass: spec.wrongPassword ? 'wrong' : `pw-${i % spec.users}-bench`,
    },
  });
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
});
