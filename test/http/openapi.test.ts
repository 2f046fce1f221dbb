// The OpenAPI document the daemon serves is generated from the zod schemas that validate the routes:
// every route is in it, with the limits the validators enforce.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from './helpers.js';

type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking a JSON document

describe('GET /api/v1/openapi.json', () => {
  let api: ApiServer;
  let doc: Schema;

  beforeAll(async () => {
    api = await startApi();
    const res = await api.request('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.json as Schema;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is OpenAPI 3 with the token schemes as global security', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'mailmon API', version: expect.any(String) });
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      basic: { type: 'http', scheme: 'basic' },
    });
    expect(doc.security).toEqual([{ bearer: [] }, { basic: [] }]);
  });

  it('lists every route with its method', () => {
    const routes = Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /metrics',
        'GET /api/v1/accounts',
        'POST /api/v1/accounts',
        'GET /api/v1/accounts/{id}',
        'PUT /api/v1/accounts/{id}',
        'DELETE /api/v1/accounts/{id}',
        'GET /api/v1/accounts/{id}/history',
        'POST /api/v1/accounts/{id}/test',
        'POST /api/v1/test',
        'GET /api/v1/openapi.json',
        'POST /api/v1/Agents/CustomerService/TestSmtpServer',
        'POST /api/v1/Agents/EMail/SaveEMailAccount',
        'POST /Remote/Services88/CustomerService.svc',
        'POST /Remote/Services87/EMail.svc',
        'POST /ccadmin/v1/email/test',
        'POST /dealers/{dealerUUID}/email-credentials/test',
      ].sort(),
    );
  });

  it('documents the request schema the route validates with', () => {
    const body = doc.paths['/api/v1/accounts'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['emailAddress']));
    expect(body.additionalProperties).toBe(false);
    const incoming = body.properties.incoming;
    expect(incoming.nullable).toBe(true);
    expect(incoming.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(incoming.properties.security.enum).toEqual(['tls', 'starttls', 'none']);
    expect(incoming.required).toEqual(['server', 'port', 'username']);
    const oauth = incoming.properties.oauth;
    expect(oauth).toMatchObject({ type: 'object', nullable: true, additionalProperties: false });
    // tokenUrl and clientId are required except for jwt_bearer with a service account key (refined).
    expect(oauth.required ?? []).toEqual([]);
    expect(Object.keys(oauth.properties)).toEqual(
      expect.arrayContaining([
        'grant',
        'tokenUrl',
        'clientId',
        'clientSecret',
        'refreshToken',
        'scope',
        'privateKey',
        'certificate',
        'certThumbprint',
        'serviceAccountKey',
        'credentialExpiresAt',
      ]),
    );
    expect(oauth.properties.grant.enum).toEqual(['refresh_token', 'client_credentials', 'jwt_bearer']);
    expect(oauth.properties.refreshToken.description).toMatch(/Write-only/);
    expect(oauth.properties.clientSecret).toMatchObject({ type: 'string', nullable: true });
    const adHoc = doc.paths['/api/v1/test'].post.requestBody.content['application/json'].schema;
    expect(adHoc.properties.incoming.required).toEqual(expect.arrayContaining(['password']));
    const list = doc.paths['/api/v1/accounts'].get.parameters.map((p: Schema) => `${p.in}:${p.name}`);
    expect(list.sort()).toEqual(['query:includeDeleted', 'query:limit', 'query:offset', 'query:status']);
  });

  it('documents responses: passwords only ever as the mask, errors in one shape', () => {
    const detail = doc.paths['/api/v1/accounts/{id}'].get.responses;
    const account = detail['200'].content['application/json'].schema;
    expect(account.properties.incoming.properties.password).toEqual({ type: 'string', enum: ['****'] });
    const oauth = account.properties.incoming.properties.oauth;
    expect(oauth.nullable).toBe(true);
    expect(oauth.properties.refreshToken).toMatchObject({ type: 'string', enum: ['****'], nullable: true });
    expect(oauth.properties.clientSecret).toMatchObject({ enum: ['****'], nullable: true });
    expect(oauth.properties.privateKey).toMatchObject({ enum: ['****'], nullable: true });
    expect(Object.keys(oauth.properties).sort()).toEqual(
      [
        'accessExpiresAt',
        'certThumbprint',
        'clientId',
        'clientSecret',
        'credentialExpiresAt',
        'grant',
        'privateKey',
        'refreshToken',
        'scope',
        'tokenUrl',
      ].sort(),
    );
    expect(account.properties.lastChecks.items.properties.transcript).toBeDefined();
    expect(detail['404'].content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['statusCode', 'error', 'message']),
    );
    const test = doc.paths['/api/v1/accounts/{id}/test'].post.responses;
    expect(Object.keys(test)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '429', '503']));
    const side = test['200'].content['application/json'].schema.properties.sides.items;
    expect(Object.keys(side.properties)).toEqual(
      expect.arrayContaining(['ok', 'code', 'phase', 'reason', 'phases', 'tls', 'transcript']),
    );
    expect(side.properties).not.toHaveProperty('cause');
  });
});
