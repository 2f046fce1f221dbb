// Route URLs that get special treatment at the root: rate-limited test endpoints and the SOAP
// endpoints whose token may travel inside the envelope.
import {
  CUSTOMER_SERVICE_SOAP_PATH,
  DEALER_TEST_PATH,
  EMAIL_SOAP_PATH,
  ORACLE_EMAIL_TEST_PATH,
  TEST_SMTP_SERVER_PATH,
} from '../compat/index.js';
import { CONSOLE_TEST_ROUTE } from '../ui/paths.js';
import { ACCOUNT_TEST_ROUTE, AD_HOC_TEST_ROUTE } from './tests.js';

/** Every endpoint that connects to a mail server on request. */
export const TEST_ROUTES: readonly string[] = [
  ACCOUNT_TEST_ROUTE,
  AD_HOC_TEST_ROUTE,
  TEST_SMTP_SERVER_PATH,
  CUSTOMER_SERVICE_SOAP_PATH,
  ORACLE_EMAIL_TEST_PATH,
  DEALER_TEST_PATH,
  CONSOLE_TEST_ROUTE,
];

export const SOAP_ROUTES: readonly string[] = [CUSTOMER_SERVICE_SOAP_PATH, EMAIL_SOAP_PATH];
