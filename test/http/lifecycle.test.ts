// Start-up and shutdown of the API: tls.extraCaFile is checked before listening, and stopping the
// daemon cancels an on-demand check in flight (503, nothing recorded) instead of waiting it out.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { startMisbehaving } from '../peers/misbehaving.js';
import { startApi } from './helpers.js';

describe('tls.extraCaFile', () => {
  it('a file without a certificate, or a missing file, stops start-up with the key named', async () => {
    await expect(startApi({ extraCaPem: 'not a certificate\n' })).rejects.toThrow(
      /tls\.extraCaFile .* must hold PEM certificates/,
    );
    await expect(startApi({ overrides: { 'tls.extraCaFile': '/nonexistent/ca.pem' } })).rejects.toThrow(
      /tls\.extraCaFile \/nonexistent\/ca\.pem does not exist/,
    );
  });
});

describe('shutdown with an on-demand check in flight', () => {
  it('answers 503 promptly and records nothing', async () => {
    const silent = await startMisbehaving('silent', { protocol: 'imap' });
    const api = await startApi({ overrides: { 'scheduler.checkTimeoutSeconds': 20 } });
    try {
      const created = await api.request('POST', '/api/v1/accounts', {
        body: {
          emailAddress: 'hang@example.test',
          incoming: {
            server: '127.0.0.1',
            port: silent.port,
            security: 'none',
            username: 'u',
            password: 'Hang-pw-0001',
          },
        },
      });
      const id = created.json.id as number;
      const pending = api.request('POST', `/api/v1/accounts/${id}/test`);
      const deadline = Date.now() + 5000;
      while (silent.connections() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(silent.connections()).toBe(1);

      const started = performance.now();
      await api.daemon.stop();
      const res = await pending;
      expect(performance.now() - started).toBeLessThan(3000);
      expect(res.status).toBe(503);
      expect(res.json.message).toMatch(/shutting down/);

      const db = openDatabase(api.core.config.database.url);
      try {
        expect(await db.knex('check_result').where('email_account_id', id).count({ n: '*' })).toEqual([
          { n: 0 },
        ]);
        expect(await db.knex('email_account').where('email_account_id', id).first()).toMatchObject({
          error_count: 0,
        });
      } finally {
        await db.close();
      }
    } finally {
      await api.close();
      await silent.close();
    }
  });
});
