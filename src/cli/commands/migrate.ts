import type { Command } from 'commander';
import { openDatabase } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { asCliError, configFrom, type CliIo } from '../context.js';

export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit (serve does this too)')
    .action(async () => {
      const config = configFrom(io);
      const db = openDatabase(config.database.url, { poolMax: 1 });
      try {
        const applied = await migrateToLatest(db.knex);
        io.stdout.write(
          applied.length === 0
            ? `${db.describe}: schema is up to date\n`
            : `${db.describe}: applied ${applied.join(', ')}\n`,
        );
      } catch (error) {
        throw asCliError(error);
      } finally {
        await db.close();
      }
    });
}
