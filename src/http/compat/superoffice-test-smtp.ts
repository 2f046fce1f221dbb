// SuperOffice TestSmtpServer, transport-neutral: the REST and SOAP endpoints both parse into
// TestSmtpServerRequest and render SmtpTestResult.
import { z } from 'zod';

import type { ProbeTarget } from '../../probes/types.js';
import type { CompatDeps } from './deps.js';
import { lineSchema } from '../../accounts/fields.js';
import { failureText, scrubSecrets } from './redact.js';
import { parseSmtpUri, type SmtpUri } from './smtp-uri.js';

const smtpUriSchema = z.string().transform((value, ctx): SmtpUri => {
  const parsed = parseSmtpUri(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.uri;
});

/** The request body: `{ SmtpUri, From, UseStoredPassword }`. */
export const testSmtpServerRequestSchema = z.object({
  SmtpUri: smtpUriSchema,
  /** The test's sender address; SuperOffice's own docs leave it empty in samples. */
  From: lineSchema(320).default(''),
  UseStoredPassword: z.boolean().default(false),
});

export type TestSmtpServerRequest = z.output<typeof testSmtpServerRequestSchema>;

export interface SmtpTestOutcome {
  Success: boolean;
  /** The probe's reason when it failed, '' when it succeeded. Never holds the password. */
  ErrorMessage: string;
}

/**
 * Runs the test. Failures of the mail server (and a missing stored password) are results, not
 * errors: SuperOffice answers them with Success false and HTTP 200.
 */
export async function runTestSmtpServer(
  deps: CompatDeps,
  request: TestSmtpServerRequest,
): Promise<SmtpTestOutcome> {
  const { host, port, security, username } = request.SmtpUri;
  let secret = request.SmtpUri.password;
  if (request.UseStoredPassword) {
    const stored = await deps.findStoredSmtpPassword(host, port, username);
    if (stored === null) {
      return {
        Success: false,
        ErrorMessage: `No stored password for ${username || '(no user)'} on ${host}:${port}`,
      };
    }
    secret = stored;
  }
  const target: ProbeTarget = {
    protocol: 'smtp',
    host,
    port,
    security,
    authType: 'password',
    username,
    secret,
    acceptUnverifiedCert: false,
    ...(request.From === '' ? {} : { emailAddress: request.From }),
  };
  const [result] = await deps.testTargets([target]);
  if (result === undefined) throw new Error('testTargets returned no result for the SMTP target');
  // Both the URI's password and a stored one may have reached the server: scrub either.
  const secrets = [secret, request.SmtpUri.password];
  return { Success: result.ok, ErrorMessage: scrubSecrets(failureText(result), secrets) };
}
