// Last line of defence for text built from probe results (reasons, transcripts) before it goes into
// a response. Probes redact their own transcripts; this removes any request secret that slipped
// through anyway, in clear or in the base64 forms SMTP/IMAP AUTH put on the wire.
import type { ProbeResult } from '../../probes/types.js';
import { createSecretScrubber } from '../../security/redact.js';

/**
 * Replaces every occurrence of each secret (clear, URL/JSON-encoded, and inside any base64 run such
 * as AUTH LOGIN/PLAIN or XOAUTH2, whatever the user name in it) with the mask: the shared scrubber,
 * which masks a secret shorter than MIN_ANYWHERE_CHARS only where it stands whole.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return credentialScrubber(secrets)(text);
}

/** scrubSecrets for many texts with the same secrets: the secrets' forms are worked out once. */
export function credentialScrubber(secrets: readonly string[]): (text: string) => string {
  return createSecretScrubber(secrets);
}

/** The failure sentence of a probe result, for ErrorMessage/error fields; '' when it succeeded. */
export function failureText(result: ProbeResult): string {
  if (result.ok) return '';
  return result.reason ?? result.code ?? `${result.protocol.toUpperCase()} test failed`;
}

/** One transcript line per row: `SMTP S: 220 mail.example.com ESMTP`. */
export function transcriptText(result: ProbeResult): string[] {
  const protocol = result.protocol.toUpperCase();
  return result.transcript.map((line) => `${protocol} ${line.dir}: ${line.line}`);
}
