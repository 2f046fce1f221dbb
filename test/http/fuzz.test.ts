// Property: whatever JSON (or XML-ish text) a client sends to any route, the daemon answers below
// 500 and never with a stack trace. Bodies are random JSON and near-valid shapes (right keys, random
// values) so the property reaches past the first validation step. Every probe is refused by an
// egress policy that denies all addresses, and names never resolve: nothing leaves the machine.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupAll } from '../../src/egress/resolver.js';
import { startApi, type ApiServer } from './helpers.js';

const nowhere: LookupAll = async (hostname) => {
  throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

const scalar = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    '****',
    '127.0.0.1',
    '::1',
    'a@b.c',
    'true',
    '587',
    'smtp://u:p@h:25',
    'x\r\ny',
    'tls',
    'Ok',
  ),
  fc.integer({ min: -2, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const DELETE = Symbol('delete');

/** Every path to a leaf (and to every object/array) of a JSON value. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string, Json>)[k] as Json, [...prefix, k]))];
}

function setPath(root: Json, path: (string | number)[], next: Json | typeof DELETE): Json {
  if (path.length === 0) return next === DELETE ? null : next;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  if (next === DELETE) delete node[last];
  else node[last] = next;
  return copy;
}

/** A valid sample with 0-3 fields replaced by random values or removed: reaches past validation. */
const mutated = (sample: Json) =>
  fc
    .array(fc.tuple(fc.constantFrom(...paths(sample)), fc.oneof(value, fc.constant(DELETE))), {
      maxLength: 3,
    })
    .map((mutations) =>
      mutations.reduce<Json>((acc, [path, next]) => {
        try {
          return setPath(acc, path, next as Json | typeof DELETE);
        } catch {
          return acc; // the path vanished with an earlier mutation
        }
      }, sample),
    );

const side = { server: '127.0.0.1', port: 993, username: 'u', password: 'Fuzz-pw-1' };
const SAMPLES: Record<string, Json> = {
  account: {
    emailAddress: 'f@example.test',
    associateId: 1,
    incoming: side,
    outgoing: { ...side, port: 587, security: 'starttls' },
  },
  accountOAuth: {
    emailAddress: 'o@example.test',
    incoming: {
      ...side,
      authType: 'oauth2',
      password: '****',
      oauth: {
        tokenUrl: 'https://127.0.0.1/token',
        clientId: 'c',
        clientSecret: '****',
        refreshToken: 'Fuzz-rt-1',
        scope: 'a b',
        accessExpiresAt: null,
      },
    },
    outgoing: null,
  },
  adHoc: { emailAddress: 'f@example.test', incoming: side, outgoing: { ...side, port: 587 } },
  testSmtp: { SmtpUri: 'smtp://u:p@127.0.0.1:587', From: 'f@example.test', UseStoredPassword: false },
  save: {
    EMailAccountId: 0,
    EMailAddress: 's@example.test',
    AssociateId: 0,
    IncomingCredentials: null,
    OutgoingCredentials: {
      Server: '127.0.0.1',
      Port: 587,
      AuthType: 'plain-text',
      Username: 'u',
      Password: 'p',
    },
  },
  oracle: {
    emailSMTPHost: '127.0.0.1',
    emailSMTPPort: '587',
    emailSMTPAuthMethod: 'TLS',
    emailSMTPUsername: 'u',
    emailSMTPPassword: 'p',
  },
  dealer: {
    emailCredentialsRequests: [
      {
        smtpHost: '127.0.0.1',
        smtpPort: '587',
        smtpUserID: 'u',
        smtpPassword: 'p',
        smtpUseAuth: 'true',
        smtpUseSSLOrTLS: 'false',
        smtpEnableStartTLS: 'true',
        imapHost: '127.0.0.1',
        imapPort: '993',
        imapUserID: 'u',
        imapPassword: 'p',
        imapUseSSLOrTLS: 'true',
      },
    ],
  },
};
const bodyFor = (sample: string | null) =>
  sample === null
    ? fc.constant(undefined)
    : fc.oneof(
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
        { weight: 4, arbitrary: mutated(SAMPLES[sample] as Json) },
      );

const id = fc.oneof(
  fc.nat({ max: 5 }).map(String),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('0', '-1', '1e3', '99999999999'),
);
const query = fc.dictionary(
  fc.constantFrom('status', 'limit', 'offset'),
  fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.nat({ max: 2000 }).map(String),
    fc.constantFrom('Ok', 'Deleted', 'Unknown'),
  ),
  { maxKeys: 3 },
);
const UUID = '6d3f8a52-1c1b-4c55-9f0e-2b7a1e4c9d10';

const ROUTES: [string, (id: string) => string, string | null][] = [
  ['GET', () => '/api/v1/accounts', null],
  ['POST', () => '/api/v1/accounts', 'account'],
  ['GET', (i) => `/api/v1/accounts/${i}`, null],
  ['PUT', (i) => `/api/v1/accounts/${i}`, 'account'],
  ['POST', () => '/api/v1/accounts', 'accountOAuth'],
  ['PUT', (i) => `/api/v1/accounts/${i}`, 'accountOAuth'],
  ['DELETE', (i) => `/api/v1/accounts/${i}`, null],
  ['GET', (i) => `/api/v1/accounts/${i}/history`, null],
  ['POST', (i) => `/api/v1/accounts/${i}/test`, null],
  ['POST', () => '/api/v1/test', 'adHoc'],
  ['GET', () => '/api/v1/openapi.json', null],
  ['POST', () => '/api/v1/Agents/CustomerService/TestSmtpServer', 'testSmtp'],
  ['POST', () => '/api/v1/Agents/EMail/SaveEMailAccount', 'save'],
  ['POST', () => '/ccadmin/v1/email/test', 'oracle'],
  ['POST', (i) => `/dealers/${i}/email-credentials/test`, 'dealer'],
  ['POST', () => `/dealers/${UUID}/email-credentials/test`, 'dealer'],
];

const request = fc.constantFrom(...ROUTES).chain(([method, path, sample]) =>
  fc.record({
    method: fc.constant(method),
    path: id.map((i) => path(encodeURIComponent(i))),
    query,
    body: bodyFor(sample),
  }),
);

describe('random input never gets a 5xx', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi({
      lookup: nowhere,
      overrides: { 'egress.allowCidrs': [], 'egress.denyCidrs': ['0.0.0.0/0', '::/0'] },
    });
    // Something to update, test and delete.
    await api.request('POST', '/api/v1/accounts', {
      body: {
        emailAddress: 'f@example.test',
        incoming: { server: '127.0.0.1', port: 993, username: 'u', password: 'Fuzz-pw-1' },
      },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const stackTrace = /\bat .+:\d+:\d+|node:internal|node_modules/;

  it('JSON routes', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, query: q, body: b }) => {
        const search = new URLSearchParams(q).toString();
        const url = `${path}${search ? `?${search}` : ''}`;
        const res = await api.request(method, url, b === undefined ? {} : { body: b });
        expect(res.status, `${method} ${url} ${JSON.stringify(b)} → ${res.text}`).toBeLessThan(500);
        expect(res.text).not.toMatch(stackTrace);
      }),
      { numRuns: 400 },
    );
  });

  it('SOAP routes with random text and broken envelopes', async () => {
    const envelope = (inner: string) =>
      `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:c="http://www.superoffice.net/ws/crm/NetServer/Services88"><e:Body>${inner}</e:Body></e:Envelope>`;
    const text = fc.oneof(
      fc.string(),
      fc.string().map(envelope),
      fc
        .jsonValue()
        .map((v) =>
          envelope(`<c:TestSmtpServer><c:SmtpUri>${JSON.stringify(v)}</c:SmtpUri></c:TestSmtpServer>`),
        ),
      fc.constantFrom('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', '<a><b></a>', ''),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/Remote/Services88/CustomerService.svc', '/Remote/Services87/EMail.svc'),
        text,
        fc.constantFrom('application/soap+xml; charset=utf-8', 'text/xml', 'application/json'),
        async (path, raw, contentType) => {
          const res = await api.request('POST', path, { raw, contentType });
          expect(res.status, `${path} ${raw} → ${res.text}`).toBeLessThan(500);
          expect(res.text).not.toMatch(stackTrace);
        },
      ),
      { numRuns: 150 },
    );
  });
});
