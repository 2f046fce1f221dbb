/** Where the console lives on the HTTP listener; its routes authenticate with their own session. */
export const CONSOLE_PREFIX = '/ui';
/** The console's re-test: rate-limited with the API's test endpoints (TEST_ROUTES). */
export const CONSOLE_TEST_ROUTE = `${CONSOLE_PREFIX}/accounts/:id/test`;
