// The account page: status and the history sentence, the Re-test form, each side's settings (the
// password as the mask only) and last result (code, reason, phase timings, TLS facts, certificate
// expiry, redacted transcript), and the history as runs.
import type { SideCheck } from '../../../accounts/repository.js';
import { PASSWORD_MASK } from '../../../accounts/superoffice-schema.js';
import { AccountStatus, type EmailAccount, type ServiceAuth } from '../../../accounts/types.js';
import type { Protocol, TlsFacts } from '../../../probes/types.js';
import type { Scrubber } from '../../api/views.js';
import { duration, relative, timeTag } from '../format.js';
import { html, type Html } from '../html.js';
import type { Session } from '../session.js';
import { summarise, type Run } from '../timeline.js';
import { statusBadge } from './accounts.js';
import { csrfInput } from './layout.js';

export interface AccountPage {
  account: EmailAccount;
  lastChecks: SideCheck[];
  runs: Run[];
  failingSince: Date | null;
  session: Session;
  /** Removes the account's secrets from stored free text (a last line of defence). */
  scrub: Scrubber;
  now: Date;
}

const SIDE_TITLE: Record<Protocol, string> = { imap: 'Incoming (IMAP)', smtp: 'Outgoing (SMTP)' };

function dl(items: [string, Html | string | number | null][]): Html {
  return html`<dl>
    ${items.map(
      ([term, value]) =>
        html`<dt>${term}</dt>
          <dd>${value ?? html`<span class="none">—</span>`}</dd>`,
    )}
  </dl>`;
}

function settings(auth: ServiceAuth): Html {
  return dl([
    ['Server', `${auth.server}:${auth.port}`],
    ['Security', auth.security],
    ['Authentication', auth.authType],
    ['User name', auth.username],
    ['Password', PASSWORD_MASK],
    ['Unverified certificate accepted', auth.acceptUnverifiedCert ? 'yes' : 'no'],
  ]);
}

function tlsFacts(tls: TlsFacts | undefined, notAfter: Date | null, now: Date): Html {
  if (tls === undefined && notAfter === null) return html`<p class="none">No TLS at the last check.</p>`;
  const expiry =
    notAfter === null
      ? null
      : html`${timeTag(notAfter, now)}
          <span class="${notAfter.getTime() - now.getTime() < 14 * 86_400_000 ? 'warn' : ''}"
            >(${notAfter.getTime() < now.getTime() ? 'expired ' : 'expires '}${relative(notAfter, now)})</span
          >`;
  return dl([
    ['Protocol', tls?.protocol ?? null],
    ['Cipher', tls?.cipher ?? null],
    [
      'Verified',
      tls === undefined ? null : tls.authorized ? 'yes' : `no: ${tls.authorizationError ?? 'unknown'}`,
    ],
    ['Subject', tls?.subject ?? null],
    ['Issuer', tls?.issuer ?? null],
    ['Names', tls && tls.subjectAltNames.length > 0 ? tls.subjectAltNames.join(', ') : null],
    ['Certificate expiry', expiry],
  ]);
}

function lastResult(check: SideCheck | undefined, scrub: Scrubber, now: Date): Html {
  if (check === undefined) return html`<p class="none">Not checked yet.</p>`;
  const details = check.details;
  const phases = details?.phases ?? [];
  const transcript = scrub.transcript(details?.transcript ?? []);
  return html`<h3>Last result</h3>
    ${dl([
      [
        'Result',
        check.ok ? html`<span class="badge ok">Ok</span>` : html`<span class="badge failed">Failed</span>`,
      ],
      ['Checked', timeTag(check.checkedAt, now)],
      ['Code', check.code === null ? null : html`<code>${check.code}</code>`],
      ['Phase', check.phase],
      ['Reason', scrub.nullable(check.reason)],
      ['Duration', `${Math.round(check.durationMs)} ms`],
      ['Last success', timeTag(check.lastSuccessAt, now)],
    ])}
    <h3>Phase timings</h3>
    ${
      phases.length === 0
        ? html`<p class="none">None recorded.</p>`
        : html`<table class="phases">
            <thead>
              <tr>
                <th scope="col">Phase</th>
                <th scope="col">ms</th>
              </tr>
            </thead>
            <tbody>
              ${phases.map(
                (p) =>
                  html`<tr>
                    <td>${p.phase}</td>
                    <td class="num">${Math.round(p.ms)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h3>TLS</h3>
    ${tlsFacts(details?.tls, check.tlsNotAfter, now)}
    <h3>Transcript <span class="hint">(redacted: credentials never shown)</span></h3>
    ${transcript.length === 0 ? html`<p class="none">No transcript.</p>` : html`<pre class="transcript" tabindex="0" aria-label="Protocol transcript">${transcript.map((l) => html`<span class="dir-${l.dir === '*' ? 'note' : l.dir}">${String(Math.round(l.t)).padStart(5)} ms ${l.dir} ${l.line}</span>\n`)}</pre>`}`;
}

function side(protocol: Protocol, auth: ServiceAuth | null, view: AccountPage): Html | null {
  if (auth === null) return null;
  const check = view.lastChecks.find((c) => c.side === protocol);
  return html`<section class="side-card" aria-labelledby="side-${protocol}">
    <h2 id="side-${protocol}">${SIDE_TITLE[protocol]}</h2>
    ${settings(auth)} ${lastResult(check, view.scrub, view.now)}
  </section>`;
}

function timeline(runs: readonly Run[], now: Date): Html {
  if (runs.length === 0) return html`<p class="none">No history kept yet.</p>`;
  return html`<ol class="timeline">
    ${runs.slice(0, 30).map(
      (run) =>
        html`<li class="${run.ok ? 'ok' : 'failing'}">
          <strong>${run.ok ? 'Ok' : 'Failing'}</strong> ${timeTag(run.from, now)} → ${timeTag(run.to, now)}
          <span class="hint"
            >(${run.checks > 1 ? `${run.open ? 'at least ' : ''}${duration(run.to.getTime() - run.from.getTime())}, ` : ''}${run.checks}
            check${run.checks === 1 ? '' : 's'}${run.codes.length > 0 ? `: ${run.codes.join(', ')}` : ''})</span
          >
        </li>`,
    )}
  </ol>`;
}

export function accountBody(view: AccountPage): Html {
  const { account, now } = view;
  const deleted = account.accountStatus === AccountStatus.Deleted;
  const retest = deleted
    ? html`<p class="hint">Deleted accounts are not checked.</p>`
    : html`<form
        method="post"
        action="/ui/accounts/${account.emailAccountId}/test"
        class="retest"
        data-retest
      >
        ${csrfInput(view.session)}<button type="submit">Re-test now</button>
        <span class="retest-status" role="status" aria-live="polite"></span>
      </form>`;
  return html`<p><a href="/ui/">← Accounts</a></p>
    <div id="account" data-account-id="${account.emailAccountId}">
      <h1>${account.emailAddress}</h1>
      <p class="summary">
        ${statusBadge(account.accountStatus)} <span class="sentence">${summarise(view.runs, now)}</span>
      </p>
      ${dl([
        ['Account id', account.emailAccountId],
        ['ErrorCount', account.errorCount],
        ['ErrorReason', account.errorReason === '' ? null : view.scrub.text(account.errorReason)],
        ['Failing since', view.failingSince === null ? null : timeTag(view.failingSince, now)],
        ['Last check', timeTag(account.lastCheckAt, now)],
        ['Next check', account.nextDueAt === null || deleted ? null : relative(account.nextDueAt, now)],
        ['Backing off', deleted ? null : backoffText(account)],
      ])}
      ${retest}
      <div class="sides">${side('imap', account.incoming, view)}${side('smtp', account.outgoing, view)}</div>
      <section aria-labelledby="history">
        <h2 id="history">History</h2>
        ${timeline(view.runs, now)}
      </section>
    </div>`;
}

/** Why the next check is late (issue 11), or null: the credentials were refused N times in a row. */
function backoffText(account: EmailAccount): string | null {
  const failures = account.authBackoff?.failures ?? 0;
  if (failures === 0) return null;
  const code = account.authBackoff?.code ?? 'auth_rejected';
  return `${failures} refused login(s) in a row (${code}): checks wait longer each time, until new credentials are saved or it is re-tested now`;
}
