// The dealer communications API's email-credentials test: request schema, and how one request entry
// becomes SMTP and IMAP probe targets. Every value arrives as a string ("true", "587").
import { z } from 'zod';

import type { ProbeTarget, Protocol, Security } from '../../probes/types.js';
import {
  boolStringSchema,
  defaultSecurityForPort,
  hostSchema,
  lineSchema,
  portStringSchema,
  secretSchema,
} from '../../accounts/fields.js';

/** Most entries one request may carry; each becomes up to two probes. */
export const DEALER_MAX_BATCH = 50;

const text = lineSchema(320).optional();
const secret = secretSchema(4096).optional();
const flag = boolStringSchema.optional();

export const dealerEntrySchema = z
  .object({
    smtpHost: hostSchema.optional(),
    smtpPort: portStringSchema.optional(),
    smtpUserID: text,
    smtpPassword: secret,
    smtpUseAuth: flag,
    smtpUseSSLOrTLS: flag,
    smtpEnableStartTLS: flag,
    imapHost: hostSchema.optional(),
    imapPort: portStringSchema.optional(),
    imapUserID: text,
    imapPassword: secret,
    imapUseSSLOrTLS: flag,
    imapEnableStartTLS: flag,
    dealerEmail: text,
    /** Used for either side when smtpPassword / imapPassword is absent. */
    password: secret,
    accountType: text,
    credentialsType: text,
    orgName: text,
  })
  .superRefine((entry, ctx) => {
    if (entry.smtpHost === undefined && entry.imapHost === undefined) {
      ctx.addIssue({ code: 'custom', path: ['smtpHost'], message: 'smtpHost or imapHost is required' });
    }
    if (
      entry.smtpHost !== undefined &&
      entry.smtpUseAuth === true &&
      (entry.smtpUserID ?? entry.dealerEmail) === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['smtpUserID'],
        message: 'is required when smtpUseAuth is "true"',
      });
    }
    if (entry.imapHost !== undefined && (entry.imapUserID ?? entry.dealerEmail) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['imapUserID'], message: 'is required when imapHost is given' });
    }
  });

export const dealerRequestSchema = z.object({
  emailCredentialsRequests: z
    .array(dealerEntrySchema)
    .min(1, { error: 'must hold at least one entry' })
    .max(DEALER_MAX_BATCH, { error: `must hold at most ${DEALER_MAX_BATCH} entries` }),
});

export const dealerParamsSchema = z.object({
  dealerUUID: z.guid({ error: 'must be a UUID (8-4-4-4-12 hex digits)' }),
});

export type DealerEntry = z.output<typeof dealerEntrySchema>;
export type DealerRequest = z.output<typeof dealerRequestSchema>;

export interface DealerWarning {
  warningCode: string;
  warningDescription: string;
}

export interface EntryPlan {
  targets: ProbeTarget[];
  warnings: DealerWarning[];
  /** Every secret of this entry, for scrubbing what goes back. */
  secrets: string[];
}

interface SideFields {
  host: string;
  port: number | undefined;
  useTls: boolean | undefined;
  startTls: boolean | undefined;
  username: string;
  secret: string;
}

const DEFAULT_PORTS: Readonly<Record<Protocol, Record<Security, number>>> = {
  smtp: { tls: 465, starttls: 587, none: 25 },
  imap: { tls: 993, starttls: 143, none: 143 },
};

/**
 * "UseSSLOrTLS" wins over "EnableStartTLS"; with neither flag given the port decides (never plain
 * text by default); with both explicitly off, the connection stays plain.
 */
function sideTarget(protocol: Protocol, side: SideFields, warnings: DealerWarning[]): ProbeTarget {
  const name = protocol.toUpperCase();
  let security: Security;
  if (side.useTls === true) security = 'tls';
  else if (side.startTls === true) security = 'starttls';
  else if (side.useTls === undefined && side.startTls === undefined)
    security = defaultSecurityForPort(side.port ?? DEFAULT_PORTS[protocol].starttls);
  else security = 'none';
  if (side.useTls === true && side.startTls === true) {
    warnings.push({
      warningCode: `${name}_TLS_AMBIGUOUS`,
      warningDescription: `${protocol}UseSSLOrTLS and ${protocol}EnableStartTLS are both "true"; tested with implicit TLS`,
    });
  }
  if (security === 'none' && side.username !== '') {
    warnings.push({
      warningCode: `${name}_PLAINTEXT_AUTH`,
      warningDescription: `${name} credentials are sent without TLS`,
    });
  }
  return {
    protocol,
    host: side.host,
    port: side.port ?? DEFAULT_PORTS[protocol][security],
    security,
    authType: 'password',
    username: side.username,
    secret: side.secret,
    acceptUnverifiedCert: false,
  };
}

/** The probes one entry asks for (SMTP first, then IMAP) and the warnings its flags raise. */
export function planEntry(entry: DealerEntry): EntryPlan {
  const targets: ProbeTarget[] = [];
  const warnings: DealerWarning[] = [];
  if (entry.smtpHost !== undefined) {
    // smtpUseAuth absent: authenticate when a user is known; "false": connect and greet only.
    const username = entry.smtpUseAuth === false ? '' : (entry.smtpUserID ?? entry.dealerEmail ?? '');
    const target = sideTarget(
      'smtp',
      {
        host: entry.smtpHost,
        port: entry.smtpPort,
        useTls: entry.smtpUseSSLOrTLS,
        startTls: entry.smtpEnableStartTLS,
        username,
        secret: username === '' ? '' : (entry.smtpPassword ?? entry.password ?? ''),
      },
      warnings,
    );
    targets.push(entry.dealerEmail === undefined ? target : { ...target, emailAddress: entry.dealerEmail });
  }
  if (entry.imapHost !== undefined) {
    targets.push(
      sideTarget(
        'imap',
        {
          host: entry.imapHost,
          port: entry.imapPort,
          useTls: entry.imapUseSSLOrTLS,
          startTls: entry.imapEnableStartTLS,
          username: entry.imapUserID ?? entry.dealerEmail ?? '',
          secret: entry.imapPassword ?? entry.password ?? '',
        },
        warnings,
      ),
    );
  }
  const secrets = [entry.smtpPassword, entry.imapPassword, entry.password].filter(
    (s): s is string => s !== undefined,
  );
  return { targets, warnings, secrets };
}
