// `mailmon accounts edit ID --side S --grant G ...`: set one side's OAuth2 settings from the command
// line, through the one save path (src/accounts/save.ts) with the native API's validators. Secrets
// are read from files ("-" = standard input), never taken as arguments: a command line is visible
// to every user of the machine and lands in shell histories.
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { toOAuthInput } from '../../accounts/app-credentials.js';
import { isSaveRefusal } from '../../accounts/errors.js';
import { saveAccount } from '../../accounts/save.js';
import type { AccountDraft, SideDraft } from '../../accounts/save-rules.js';
import type { EmailAccount, ServiceAuth } from '../../accounts/types.js';
import { oauthFields, oauthInputSchema } from '../../http/api/schemas.js';
import { CliError, withCore, type CliIo } from '../context.js';
import { parseId } from './accounts.js';

interface EditOptions {
  side: string;
  grant?: string;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  clientSecretFile?: string;
  privateKeyFile?: string;
  certificateFile?: string;
  certThumbprint?: string;
  serviceAccountKeyFile?: string;
  credentialExpires?: string;
}

/** The option that sets each `oauth` field, for messages. */
const FLAG: Readonly<Record<string, string>> = {
  grant: '--grant',
  tokenUrl: '--token-url',
  clientId: '--client-id',
  scope: '--scope',
  clientSecret: '--client-secret-file',
  privateKey: '--private-key-file',
  certificate: '--certificate-file',
  certThumbprint: '--cert-thumbprint',
  serviceAccountKey: '--service-account-key-file',
  credentialExpiresAt: '--credential-expires',
  refreshToken: '(a refresh token)',
};
const flag = (name: string) => FLAG[name] ?? name;

export function registerAccountEdit(accounts: Command, io: CliIo): void {
  accounts
    .command('edit')
    .argument('<id>', 'account id')
    .requiredOption('--side <side>', 'incoming (IMAP) or outgoing (SMTP)')
    .option(
      '--grant <grant>',
      'client_credentials (Microsoft 365 app) or jwt_bearer (Google service account)',
    )
    .option(
      '--token-url <url>',
      'the token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token',
    )
    .option('--client-id <id>', 'the app (client) id')
    .option('--scope <scope>', 'default https://outlook.office365.com/.default or https://mail.google.com/')
    .option('--client-secret-file <file>', 'file holding the client secret ("-": standard input)')
    .option('--private-key-file <file>', "the certificate's RSA private key (PEM)")
    .option(
      '--certificate-file <file>',
      'the certificate (PEM) the key belongs to: thumbprint and expiry come from it',
    )
    .option('--cert-thumbprint <hex>', 'instead of the certificate: its SHA-1 thumbprint (40 hex digits)')
    .option('--service-account-key-file <file>', "the Google service account's JSON key")
    .option(
      '--credential-expires <date>',
      'when the client secret expires, e.g. 2027-06-30 (exported and alerted on)',
    )
    .description(
      "set one side's app-only OAuth2 settings (AuthType oauth2; the side's username is the mailbox); " +
        'the rest of the account stays as stored',
    )
    .addHelpText(
      'after',
      `
Examples:
  Microsoft 365 with a certificate (both sides may use the same app; the tenant token is shared):
    mailmon accounts edit 12 --side incoming --grant client_credentials \\
      --token-url https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token \\
      --client-id 00000000-0000-0000-0000-00000000a001 \\
      --private-key-file app.key --certificate-file app.pem
  Microsoft 365 with a client secret read from standard input:
    pass show mailmon/app | mailmon accounts edit 12 --side outgoing --grant client_credentials \\
      --token-url ... --client-id ... --client-secret-file - --credential-expires 2027-06-30
  Google Workspace (domain-wide delegation):
    mailmon accounts edit 13 --side incoming --grant jwt_bearer --service-account-key-file key.json
Secrets come from files, never from the command line. A secret left out keeps the stored one, but
only for the same grant, token URL, client id, server and user; otherwise it must be given again.
Exit 0 saved, 2 invalid input (one sentence naming the option; nothing stored).`,
    )
    .action(async (idText: string, options: EditOptions) => {
      const id = parseId(idText);
      const sideName = sideOf(options.side);
      const read = async (file: string | undefined) => {
        if (file === undefined) return undefined;
        try {
          return (file === '-' ? await text(io.stdin) : await readFile(file, 'utf8')).replace(/\r?\n$/, '');
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
        }
      };
      const raw = {
        grant: options.grant ?? 'client_credentials',
        ...(options.tokenUrl === undefined ? {} : { tokenUrl: options.tokenUrl }),
        ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
        ...(options.scope === undefined ? {} : { scope: options.scope }),
        ...(options.clientSecretFile === undefined
          ? {}
          : { clientSecret: await read(options.clientSecretFile) }),
        ...(options.privateKeyFile === undefined
          ? {}
          : { privateKey: `${await read(options.privateKeyFile)}\n` }),
        ...(options.certificateFile === undefined
          ? {}
          : { certificate: `${await read(options.certificateFile)}\n` }),
        ...(options.certThumbprint === undefined ? {} : { certThumbprint: options.certThumbprint }),
        ...(options.serviceAccountKeyFile === undefined
          ? {}
          : { serviceAccountKey: await read(options.serviceAccountKeyFile) }),
        ...(options.credentialExpires === undefined
          ? {}
          : { credentialExpiresAt: options.credentialExpires }),
      };
      const parsed = oauthInputSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        // The schema names fields (privateKey); the user typed options (--private-key-file).
        const message = issue.message.replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, flag);
        throw new CliError(`${flag(String(issue.path[0] ?? 'grant'))}: ${message}`);
      }
      const oauth = toOAuthInput(oauthFields(parsed.data));
      await withCore(io, async ({ repo }) => {
        const account = await repo.getAccount(id);
        if (account === null) throw new CliError(`account ${id} does not exist`);
        const stored = account[sideName];
        if (stored === null) throw new CliError(`account ${id} has no ${sideName} side to edit`);
        const draft = keepAccount(account);
        draft[sideName] = { ...keepSide(stored), authType: 'oauth2', password: undefined, oauth };
        try {
          await saveAccount(repo, draft);
        } catch (error) {
          if (isSaveRefusal(error)) {
            const message =
              'problem' in error
                ? `${flag(error.path.at(-1) ?? '')} (${error.path.slice(0, -1).join('.')}): ${error.problem(flag)}`
                : error.message;
            throw new CliError(message);
          }
          throw error;
        }
        io.stdout.write(
          `account ${id} ${sideName}: ${oauth.grant} settings saved; it is due for a check now\n`,
        );
      });
    });
}

function sideOf(side: string): 'incoming' | 'outgoing' {
  const name = side.toLowerCase();
  if (name === 'incoming' || name === 'imap') return 'incoming';
  if (name === 'outgoing' || name === 'smtp') return 'outgoing';
  throw new CliError(`--side must be incoming (imap) or outgoing (smtp), got "${side}"`);
}

/** A stored side as a draft that changes nothing: secrets, trust and OAuth settings kept. */
function keepSide(auth: ServiceAuth): SideDraft {
  return {
    server: auth.server,
    port: auth.port,
    authType: auth.authType,
    username: auth.username,
    password: undefined,
    security: auth.security,
    acceptUnverifiedCert: undefined,
    caPem: undefined,
  };
}

function keepAccount(account: EmailAccount): AccountDraft {
  return {
    emailAccountId: account.emailAccountId,
    emailAddress: account.emailAddress,
    associateId: account.associateId,
    incoming: account.incoming ? keepSide(account.incoming) : null,
    outgoing: account.outgoing ? keepSide(account.outgoing) : null,
  };
}
