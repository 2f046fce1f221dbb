// What every OAuth2 grant (refresh_token today; client credentials and JWT bearer next) holds a
// token endpoint's answer to: a bounded body, and tokens no longer than mailmon stores. A token
// endpoint is someone else's server; a 10 MB answer or a 100 KB token must fail the refresh with a
// clear reason, not exhaust memory or fail later as a database error when the token is stored.
import type { IncomingMessage } from 'node:http';
import { MAX_SECRET_LENGTH } from '../accounts/fields.js';

/** Token responses are small (a few KB even with large JWTs); anything bigger is not one. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/**
 * Longest access or refresh token accepted, in UTF-16 units: what the API accepts for a token
 * (MAX_SECRET_LENGTH), so every token stored fits its encrypted TEXT column on MariaDB too.
 */
export const MAX_TOKEN_CHARS = MAX_SECRET_LENGTH;

/** The body of a token endpoint's answer was over the limit; `message` says so without content. */
export class TokenAnswerTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`token endpoint answer is larger than ${limitBytes / 1024} KiB: not a token response`);
    this.name = 'TokenAnswerTooLarge';
  }
}

/**
 * Reads `res` to its end as UTF-8, at most `maxBytes`: a declared Content-Length over the limit
 * fails before reading, a streamed body as soon as it passes it. Rejects with TokenAnswerTooLarge,
 * the stream's error, or an Error when the connection closes before the end. The caller destroys
 * the request on rejection.
 */
export function readBoundedBody(res: IncomingMessage, maxBytes = MAX_TOKEN_RESPONSE_BYTES): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (Number(res.headers['content-length'] ?? '0') > maxBytes) {
      reject(new TokenAnswerTooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | undefined, text?: string): void => {
      if (done) return;
      done = true;
      if (error) reject(error);
      else resolve(text ?? '');
    };
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) finish(new TokenAnswerTooLarge(maxBytes));
      else chunks.push(chunk);
    });
    res.on('end', () => finish(undefined, Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => finish(err));
    res.on('close', () => finish(new Error('connection closed before the answer was complete')));
  });
}

/**
 * Why the tokens in a successful token answer cannot be used, or undefined when they can: a token
 * longer than MAX_TOKEN_CHARS (the sentence names the field and its length, never its content).
 */
export function oversizedToken(json: Record<string, unknown>): string | undefined {
  for (const field of ['access_token', 'refresh_token', 'id_token'] as const) {
    const value = json[field];
    if (typeof value === 'string' && value.length > MAX_TOKEN_CHARS) {
      return `token endpoint answer's ${field} is ${value.length} characters, more than the ${MAX_TOKEN_CHARS} mailmon stores`;
    }
  }
  return undefined;
}
