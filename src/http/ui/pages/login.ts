import { html, type Html } from '../html.js';

/** The token form. `next` is a console path already checked by safeNext. */
export function loginBody(next: string, error: string | null): Html {
  return html`<h1>Log in</h1>
    <p>
      Enter an API token (one whose digest is in <code>http.tokenHashes</code>). The console keeps a session
      cookie; the token itself is not stored in the browser.
    </p>
    ${error === null ? null : html`<p class="error" role="alert">${error}</p>`}
    <form method="post" action="/ui/login" class="login">
      <input type="hidden" name="next" value="${next}" />
      <label for="token">Token</label>
      <input id="token" name="token" type="password" autocomplete="off" required autofocus />
      <button type="submit">Log in</button>
    </form>`;
}

/** Only console paths (no scheme, no host, no "//", no ".."): the login never redirects off the console. */
export function safeNext(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !/^\/ui\/[A-Za-z0-9/_?=&%.+-]*$/.test(value) ||
    value.includes('//') ||
    value.includes('..')
  )
    return '/ui/';
  return value;
}
