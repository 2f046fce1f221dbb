// The dealer communications API: POST /dealers/:dealerUUID/email-credentials/test. One request
// tests a batch of SMTP/IMAP credentials; every entry's probes go to the daemon in one call so they
// run concurrently within its limits.
import { randomUUID } from 'node:crypto';

import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import type { ProbeResult } from '../../probes/types.js';
import {
  dealerParamsSchema,
  dealerRequestSchema,
  planEntry,
  type DealerRequest,
  type DealerEntry,
  type EntryPlan,
} from './dealer-schema.js';
import type { CompatPluginOptions } from './deps.js';
import { toClientError } from './errors.js';
import { isRecord } from '../../accounts/fields.js';
import { credentialScrubber, failureText, transcriptText } from './redact.js';
import { maskSecret } from '../../accounts/superoffice-schema.js';

export const DEALER_TEST_PATH = '/dealers/:dealerUUID/email-credentials/test';

const errorSchema = z.object({ errorCode: z.string(), errorDescription: z.string(), errorUID: z.string() });
const warningSchema = z.object({ warningCode: z.string(), warningDescription: z.string() });
const echoed = z.string().nullable();

/** One response entry, keys spelled and ordered as in the API's documented example. */
const entryResponseSchema = z.object({
  serverLogs: z.string(),
  /** "SUCCESS" when every requested test passed, else "FAILURE". */
  outcome: z.enum(['SUCCESS', 'FAILURE']),
  /** Milliseconds spent probing this entry, as a decimal string. */
  testDuration: z.string(),
  credentialsType: echoed,
  error: z.string(),
  password: echoed,
  imaphost: echoed,
  imapport: echoed,
  smtpuserID: echoed,
  smtppassword: echoed,
  smtphost: echoed,
  smtpport: echoed,
  smtpuseSSLOrTLS: echoed,
  smtpenableStartTLS: echoed,
  smtpuseAuth: echoed,
  imapuseSSLOrTLS: echoed,
  imapenableStartTLS: echoed,
  accountType: echoed,
  imapuserID: echoed,
  imappassword: echoed,
  dealerEmail: echoed,
  errors: z.array(errorSchema),
  warnings: z.array(warningSchema),
});

const responseSchema = z.object({
  emailCredentialsResponses: z.array(entryResponseSchema),
  errors: z.array(errorSchema),
  warnings: z.array(warningSchema),
});

type EntryResponse = z.infer<typeof entryResponseSchema>;

function str(value: string | number | boolean | undefined): string | null {
  return value === undefined ? null : String(value);
}

function mask(value: string | undefined): string | null {
  return value === undefined ? null : maskSecret(value);
}

function entryResponse(entry: DealerEntry, plan: EntryPlan, results: ProbeResult[]): EntryResponse {
  const scrub = credentialScrubber(plan.secrets);
  const errors = results
    .filter((result) => !result.ok)
    .map((result) => ({
      errorCode: `${result.protocol.toUpperCase()}_${(result.code ?? 'internal_error').toUpperCase()}`,
      errorDescription: scrub(failureText(result)),
      errorUID: randomUUID(),
    }));
  return {
    serverLogs: scrub(results.flatMap(transcriptText).join('\n')),
    outcome: errors.length === 0 ? 'SUCCESS' : 'FAILURE',
    testDuration: String(Math.round(results.reduce((sum, result) => sum + result.durationMs, 0))),
    credentialsType: str(entry.credentialsType),
    error: errors.map((error) => error.errorDescription).join('; '),
    password: mask(entry.password),
    imaphost: str(entry.imapHost),
    imapport: str(entry.imapPort),
    smtpuserID: str(entry.smtpUserID),
    smtppassword: mask(entry.smtpPassword),
    smtphost: str(entry.smtpHost),
    smtpport: str(entry.smtpPort),
    smtpuseSSLOrTLS: str(entry.smtpUseSSLOrTLS),
    smtpenableStartTLS: str(entry.smtpEnableStartTLS),
    smtpuseAuth: str(entry.smtpUseAuth),
    imapuseSSLOrTLS: str(entry.imapUseSSLOrTLS),
    imapenableStartTLS: str(entry.imapEnableStartTLS),
    accountType: str(entry.accountType),
    imapuserID: str(entry.imapUserID),
    imappassword: mask(entry.imapPassword),
    dealerEmail: str(entry.dealerEmail),
    errors,
    warnings: plan.warnings,
  };
}

/** Clients send "" for fields they do not use; treat those as absent before validation. */
function dropBlankFields(body: unknown): unknown {
  if (!isRecord(body) || !Array.isArray(body.emailCredentialsRequests)) return body;
  const entries = body.emailCredentialsRequests.map((entry: unknown) =>
    isRecord(entry) ? Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== '')) : entry,
  );
  return { ...body, emailCredentialsRequests: entries };
}

function useZodAndDealerErrors(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => {
    const client = toClientError(error, request);
    const code =
      client.status >= 500 ? 'INTERNAL_ERROR' : client.issues.length > 0 ? 'INVALID_REQUEST' : 'BAD_REQUEST';
    const details =
      client.issues.length > 0
        ? client.issues.map((issue) => `${issue.path}: ${issue.message}`)
        : [client.message];
    const body: z.infer<typeof responseSchema> = {
      emailCredentialsResponses: [],
      errors: details.map((errorDescription) => ({
        errorCode: code,
        errorDescription,
        errorUID: randomUUID(),
      })),
      warnings: [],
    };
    return reply.code(client.status).type('application/json; charset=utf-8').send(JSON.stringify(body));
  });
}

/** The probe work of a validated batch: one unit per side an entry asks to test. */
export function batchCost(body: DealerRequest): number {
  return body.emailCredentialsRequests.reduce(
    (sum, entry) => sum + (entry.smtpHost === undefined ? 0 : 1) + (entry.imapHost === undefined ? 0 : 1),
    0,
  );
}

/** Registers the dealer API's batch credentials test. Options: `{ deps }`. */
export const dealerRoutes: FastifyPluginAsyncZod<CompatPluginOptions> = async (app, { deps }) => {
  useZodAndDealerErrors(app);

  app.post(
    DEALER_TEST_PATH,
    {
      schema: {
        summary: 'Dealer API-compatible batch test of SMTP and IMAP credentials',
        params: dealerParamsSchema,
        body: dealerRequestSchema,
        response: { 200: responseSchema, '4xx': responseSchema, '5xx': responseSchema },
      },
      preValidation: async (request) => {
        request.body = dropBlankFields(request.body) as typeof request.body;
      },
      // Every entry's SMTP and IMAP side is one login: a batch of 50 × 2 sides costs 100.
      config: { testCost: (request) => batchCost(request.body as DealerRequest) },
    },
    async (request) => {
      const entries = request.body.emailCredentialsRequests;
      const plans = entries.map(planEntry);
      const targets = plans.flatMap((plan) => plan.targets);
      const results = await deps.testTargets(targets);
      if (results.length !== targets.length)
        throw new Error('testTargets returned a different number of results');
      let next = 0;
      const responses = entries.map((entry, i) => {
        const plan = plans[i] as EntryPlan;
        const slice = results.slice(next, next + plan.targets.length);
        next += plan.targets.length;
        return entryResponse(entry, plan, slice);
      });
      return { emailCredentialsResponses: responses, errors: [], warnings: [] };
    },
  );
};
