// The vendor-compatible endpoints. Each plugin is encapsulated: it sets its own zod compilers,
// content-type parsers and an error handler that answers in its vendor's error shape.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { dealerRoutes } from './dealer.js';
import type { CompatPluginOptions } from './deps.js';
import { oracleCommerceRoutes } from './oracle-commerce.js';
import { superOfficeRestRoutes } from './superoffice-rest.js';
import { superOfficeSoapRoutes } from './superoffice-soap.js';

export type { CompatDeps, CompatPluginOptions } from './deps.js';
export { dealerRoutes, DEALER_TEST_PATH } from './dealer.js';
export { DEALER_MAX_BATCH } from './dealer-schema.js';
export { oracleCommerceRoutes, ORACLE_EMAIL_TEST_PATH } from './oracle-commerce.js';
export { superOfficeRestRoutes, SAVE_EMAIL_ACCOUNT_PATH, TEST_SMTP_SERVER_PATH } from './superoffice-rest.js';
export { superOfficeSoapRoutes, CUSTOMER_SERVICE_SOAP_PATH, EMAIL_SOAP_PATH } from './superoffice-soap.js';
export * from '../../accounts/superoffice-schema.js';

/** All compatible endpoints at their vendors' paths. Options: `{ deps }`. */
export const compatRoutes: FastifyPluginAsyncZod<CompatPluginOptions> = async (app, options) => {
  await app.register(superOfficeRestRoutes, options);
  await app.register(superOfficeSoapRoutes, options);
  await app.register(oracleCommerceRoutes, options);
  await app.register(dealerRoutes, options);
};
