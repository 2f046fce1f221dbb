// The console in a real browser (Debian's chromium via playwright-core) over the real daemon, with a
// real Dovecot and a misbehaving SMTP server: token login, the failing account in the table, its
// page and transcript, Re-test after the password is fixed on the server (Ok without a reload), a
// hostile greeting shown as text, CSRF refused, and no secret in anything the browser received.
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { expectNoSecrets, side, startApi, TOKEN, type ApiServer } from '../http/helpers.js';
import { startDovecot, type Dovecot } from '../peers/dovecot.js';
import { startMisbehaving, type MisbehavingServer } from '../peers/misbehaving.js';
import { describeWithPeer } from '../peers/require.js';

const GOOD = 'Console-Good-Canary-5d1e';
const STALE = 'Console-Stale-Canary-9b0a';
const HOSTILE =
  '421 4.3.2 <script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = \'img\'"> busy';
/** Set to a directory to have the test save the screenshots shown in the README. */
const SCREENSHOTS = process.env.MAILMON_SCREENSHOTS;

describeWithPeer('chromium', 'the console in a real browser', () => {
  describeWithPeer('dovecot', 'against Dovecot and a hostile SMTP server', () => {
    let api: ApiServer;
    let dovecot: Dovecot;
    let hostile: MisbehavingServer;
    let chromium: TestBrowser;
    let browser: BrowserContext;
    let attacker: Server;
    let failingId: number;
    let hostileId: number;
    /** Every body the browser received, for the no-secret check. */
    const received: string[] = [];

    beforeAll(async () => {
      [api, dovecot, hostile, chromium] = await Promise.all([
        startApi({ overrides: { 'status.failedThreshold': 2 } }),
        startDovecot({ users: [{ user: 'alice', pass: GOOD }] }),
        startMisbehaving('reject-greeting', { protocol: 'smtp', greeting: HOSTILE }),
        launchChromium(),
      ]);
      browser = chromium.browser;
      browser.setDefaultTimeout(10_000);
      browser.on('response', (response) => {
        response.text().then(
          (text) => received.push(text),
          () => undefined, // redirects have no body
        );
      });
      const create = async (emailAddress: string, body: Record<string, unknown>) => {
        const res = await api.request('POST', '/api/v1/accounts', { body: { emailAddress, ...body } });
        expect(res.status, res.text).toBe(201);
        return res.json.id as number;
      };
      // The password stored is not the one the server has: the account fails with auth_rejected.
      failingId = await create('alice@example.test', {
        incoming: side({ port: dovecot.imapsPort, caPem: dovecot.caPem }, STALE, { security: 'tls' }),
      });
      hostileId = await create('greeting@hostile.test', {
        outgoing: side({ port: hostile.port }, GOOD, { security: 'none' }),
      });
      for (const id of [failingId, hostileId]) {
        const res = await api.request('POST', `/api/v1/accounts/${id}/test`);
        expect(res.status, res.text).toBe(200);
        expect(res.json.ok).toBe(false);
      }
      // A page on another origin of the same machine (same site for cookies: ports do not count).
      attacker = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end(
          `<form id="f" method="post" action="${api.url}/ui/accounts/${failingId}/test">` +
            `<input name="_csrf" value="guessed"></form><script>document.getElementById('f').submit()</script>`,
        );
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
    }, 60_000);

    afterAll(async () => {
      await chromium?.close();
      attacker?.close();
      // The search below looks at what the pages really showed.
      expect(received.join('\n')).toContain('alice@example.test');
      expectNoSecrets([...received, ...(api?.bodies ?? []), api?.logs.text ?? ''], [GOOD, STALE, TOKEN]);
      await Promise.all([api?.close(), dovecot?.stop(), hostile?.close()]);
    });

    const open = async (path: string): Promise<{ page: Page; status: number | undefined }> => {
      const page = await browser.newPage();
      page.on('dialog', (dialog) => {
        throw new Error(`a dialog opened: ${dialog.message()}`);
      });
      const response = await page.goto(api.url + path);
      return { page, status: response?.status() };
    };

    it('without a session every console page answers 401 with the login form', async () => {
      for (const path of ['/ui/', `/ui/accounts/${failingId}`, '/ui/?status=Failed']) {
        const { page, status } = await open(path);
        expect(status, path).toBe(401);
        await expect(page.getByLabel('Token').isVisible()).resolves.toBe(true);
        expect(await page.content()).not.toContain('alice@example.test');
        await page.close();
      }
    });

    it('logs in with a token, then shows the failing account with its reason and failing-since', async () => {
      const { page } = await open(`/ui/?status=Failing`);
      await page.getByLabel('Token').fill('not-the-token');
      await page.getByRole('button', { name: 'Log in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid');
      await page.getByLabel('Token').fill(TOKEN);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/ui\/\?status=Failing$/);
      const cookies = await browser.cookies(`${api.url}/ui/`);
      expect(cookies).toEqual([
        expect.objectContaining({ name: 'mailmon_console', httpOnly: true, sameSite: 'Strict', path: '/ui' }),
      ]);
      expect(cookies[0]!.expires).toBeGreaterThan(Date.now() / 1000);
      const row = page.getByRole('row', { name: /alice@example\.test/ });
      await expect(row.textContent()).resolves.toMatch(/Failing/);
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells[2]).toMatch(/IMAP\s+auth_rejected/);
      expect(cells[3]).toMatch(/IMAP login rejected/i);
      expect(cells[4]).toMatch(/^\w+day \d\d:\d\d$/);
      if (SCREENSHOTS) {
        await page.goto(`${api.url}/ui/`);
        await page.screenshot({ path: `${SCREENSHOTS}/console-accounts.png`, fullPage: true });
      }
      await page.close();
    });

    it('opens the account page, shows the transcript, and Re-test shows Ok without a reload once the password is fixed', async () => {
      const { page } = await open('/ui/');
      await page.getByRole('link', { name: 'alice@example.test' }).click();
      await page.waitForURL(new RegExp(`/ui/accounts/${failingId}$`));
      await expect(page.locator('.summary').textContent()).resolves.toMatch(/Failing since \w+day \d\d:\d\d/);
      const transcript = await page.locator('pre.transcript').textContent();
      expect(transcript).toMatch(/S \* OK/);
      // One line of the dialogue per line: time, direction, text.
      const lines = (transcript ?? '').split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThan(3);
      for (const line of lines) expect(line).toMatch(/^\s*\d+ ms [CS*] /);
      expect(transcript).toMatch(/AUTHENTICATIONFAILED|NO/);
      expect(await page.locator('dd', { hasText: '****' }).count()).toBeGreaterThan(0);
      // Fix the password on the server: Dovecot now has the password mailmon stored.
      dovecot.setUsers([{ user: 'alice', pass: STALE }]);
      await page.evaluate(
        () => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true),
      );
      await page.getByRole('button', { name: 'Re-test now' }).click();
      await expect
        .poll(() => page.locator('.retest-status').textContent(), { timeout: 20_000 })
        .toBe('Re-tested: Ok');
      await expect(page.locator('.summary .badge').textContent()).resolves.toBe('Ok');
      await expect(page.locator('.summary').textContent()).resolves.toMatch(/Ok since .* after .* failing/);
      // No reload: the same document, its marker still set.
      expect(
        await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument),
      ).toBe(true);
      const stored = await api.request('GET', `/api/v1/accounts/${failingId}`);
      expect(stored.json).toMatchObject({ status: 'Ok', errorCount: 0 });
      if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/console-account.png`, fullPage: true });
      await page.close();
    }, 60_000);

    it('shows a greeting holding <script> and <img onerror> as text and runs nothing', async () => {
      const { page } = await open(`/ui/accounts/${hostileId}`);
      const violations: string[] = [];
      page.on('console', (message) => violations.push(message.text()));
      await page.reload();
      const transcript = (await page.locator('pre.transcript').textContent()) ?? '';
      expect(transcript).toContain('<script>window.__pwned = "script"</script>');
      expect(transcript).toContain('<img src=x onerror=');
      expect(await page.locator('main script, main img').count()).toBe(0);
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned),
      ).toBeUndefined();
      // The accounts table shows the same reason as text too.
      await page.goto(`${api.url}/ui/?q=@hostile.test`);
      expect(await page.locator('main script, main img').count()).toBe(0);
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned),
      ).toBeUndefined();
      // Nothing even tried to run: the policy had nothing to block.
      expect(violations.filter((v) => /Content Security Policy/i.test(v))).toEqual([]);
      await page.close();
    });

    it('refuses a form posted from another origin (CSRF), and nothing is tested', async () => {
      const before = await api.request('GET', `/api/v1/accounts/${failingId}/history`);
      const page = await browser.newPage();
      const { port } = attacker.address() as AddressInfo;
      const posted = page.waitForResponse((r) => r.url().endsWith(`/ui/accounts/${failingId}/test`));
      await page.goto(`http://127.0.0.1:${port}/`);
      const response = await posted;
      expect(response.status()).toBe(403);
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/cross-site request refused/);
      const after = await api.request('GET', `/api/v1/accounts/${failingId}/history`);
      expect(after.json.items).toHaveLength(before.json.items.length);
      await page.close();
    });

    it('logging out ends the session', async () => {
      const { page } = await open('/ui/');
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(/\/ui\/login$/);
      const again = await page.goto(`${api.url}/ui/`);
      expect(again?.status()).toBe(401);
      await page.close();
    });
  });
});
