// mailmon console: the one script (no inline script anywhere; the Content-Security-Policy forbids
// it). Without it every form still works as a plain HTML form. With it, Re-test runs without a page
// reload: the form is posted with fetch, and the account page it redirects to replaces this one's
// account section. Server HTML is parsed with DOMParser (inert: nothing in it runs) and is escaped
// on the server anyway.
'use strict';

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-retest')) return;
  event.preventDefault();
  const button = form.querySelector('button');
  const status = form.querySelector('.retest-status');
  const csrf = form.querySelector('input[name="_csrf"]');
  if (button) button.disabled = true;
  if (status) status.textContent = 'Testing…';
  try {
    const response = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      headers: csrf ? { 'x-csrf-token': csrf.value } : {},
      credentials: 'same-origin',
    });
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = doc.getElementById('account');
    const current = document.getElementById('account');
    if (response.ok && fresh && current) {
      current.replaceWith(document.adoptNode(fresh));
      const newStatus = document.querySelector('#account .retest-status');
      const badge = document.querySelector('#account .summary .badge');
      if (newStatus) newStatus.textContent = `Re-tested: ${badge ? badge.textContent : 'done'}`;
      return;
    }
    const message = doc.querySelector('.error');
    if (status)
      status.textContent = message ? message.textContent : `Re-test failed (HTTP ${response.status})`;
  } catch {
    if (status) status.textContent = 'Re-test failed: the daemon did not answer';
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
});
