// The page frame: one stylesheet and one script, both served by the daemon (no inline script or
// style, so the Content-Security-Policy can forbid them), a skip link, and the log-out form.
import { html, type Html } from '../html.js';
import { CSRF_FIELD, type Session } from '../session.js';

export interface PageOptions {
  title: string;
  /** The session, when there is one: adds the log-out form (with its CSRF token). */
  session: Session | null;
  /** Whether a log-out makes sense (tokens configured). */
  canLogOut: boolean;
  body: Html;
}

export function csrfInput(session: Session): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}" />`;
}

export function page(options: PageOptions): Html {
  const { session } = options;
  const logout =
    session !== null && options.canLogOut
      ? html`<form method="post" action="/ui/logout" class="logout">
          ${csrfInput(session)}<button type="submit">Log out</button>
        </form>`
      : null;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${options.title} · mailmon</title>
        <link rel="stylesheet" href="/ui/assets/console.css" />
        <script src="/ui/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top"><a class="brand" href="/ui/">mailmon console</a>${logout}</header>
        <main id="main" tabindex="-1">${options.body}</main>
      </body>
    </html> `;
}

/** An error page body: the message is shown as text. */
export function errorBody(status: number, message: string): Html {
  return html`<h1>Error ${status}</h1>
    <p class="error" role="alert">${message}</p>
    <p><a href="/ui/">Back to the accounts</a></p>`;
}
