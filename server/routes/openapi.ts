import Router from '@koa/router';
import { openApiDocument } from '../openapi/document';

/** `GET /openapi.json`: the API description, public like the health probes (it holds no secret). */
export function openApiRoutes(): Router {
  const router = new Router();
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = openApiDocument();
  });
  return router;
}
