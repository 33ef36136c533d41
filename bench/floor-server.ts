import Koa from 'koa';
import Router from '@koa/router';
import { jsonBody } from '../server/body';
import { mintRequestBody } from '../server/schemas/mint';

/**
 * The floor for accept latency: a bare Koa handler that reads and parses the same mint request body
 * (the service's body reader and schema) and answers, with no auth, journal or database. Run as its
 * own process, as the service is.
 */
const app = new Koa();
const router = new Router();
router.post('/inkind/issuance', (ctx) => {
  const request = mintRequestBody.parse(ctx.request.body);
  ctx.body = { issuer_request_id: request.tokenizationRequestId, status: 'created' };
});
app.use(jsonBody(64 * 1024));
app.use(router.routes());
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
