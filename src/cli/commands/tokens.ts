import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { hashToken } from '../../http/auth.js';
import { CliError, type CliIo } from '../context.js';

/** Tokens shorter than this are refused: they could be guessed through the API. */
const MIN_TOKEN_LENGTH = 16;

export function registerTokensCommand(program: Command, io: CliIo): void {
  const tokens = program.command('tokens').description('API tokens');
  tokens
    .command('hash')
    .description(
      'read a token from stdin and print its SHA-256 digest for http.tokenHashes.\n' +
        'Example: openssl rand -base64 32 | tee api-token | mailmon tokens hash',
    )
    .action(async () => {
      // The token comes from stdin, never argv: arguments show up in `ps` and shell history.
      const token = (await text(io.stdin)).replace(/\r?\n$/, '');
      if (/[\r\n]/.test(token)) throw new CliError('give exactly one token on stdin (one line)');
      if (token.trim() !== token) throw new CliError('the token must not start or end with whitespace');
      if (token.length < MIN_TOKEN_LENGTH) {
        throw new CliError(
          `the token must be at least ${MIN_TOKEN_LENGTH} characters (try: openssl rand -base64 32)`,
        );
      }
      io.stdout.write(`${hashToken(token)}\n`);
    });
}
