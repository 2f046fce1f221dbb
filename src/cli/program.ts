import { Command, CommanderError } from 'commander';
import { VERSION } from '../app.js';
import { registerAccountCommands } from './commands/accounts.js';
import { registerCheckCommand } from './commands/check.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokensCommand } from './commands/tokens.js';
import { stripUrlCredentials } from '../security/redact.js';
import { safeErrorMessage } from '../logging/safe-error.js';
import { CliError, EXIT, type CliIo } from './context.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('mailmon')
    .description(
      'Mailbox health monitor: tests stored IMAP/SMTP accounts on a schedule and records their status.\n' +
        'Configuration: config/mailmon.yaml (or MAILMON_CONFIG) and MAILMON_* variables; see the README.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerServeCommand(program, io);
  registerMigrateCommand(program, io);
  registerAccountCommands(program, io);
  registerCheckCommand(program, io);
  registerTokensCommand(program, io);
  registerKeysCommands(program, io);
  program.addHelpText(
    'after',
    '\nExit codes: 0 success, 1 a tested account failed, 2 usage, configuration or input error.',
  );
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return io.exitCode ?? EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      io.stderr.write(`mailmon: ${error.message}\n`);
      return error.exitCode;
    }
    // A database error's message holds knex's SQL with its values: print the driver's message only.
    const message = error instanceof Error ? safeErrorMessage(error) : String(error);
    io.stderr.write(`mailmon: unexpected error: ${stripUrlCredentials(message)}\n`);
    return EXIT.usage;
  }
}
