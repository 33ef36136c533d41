import assert from 'node:assert/strict';
import type Router from '@koa/router';
import type { AlpacaClient } from '../../alpaca/client';
import { appRouters } from '../../server/app';
import { mintModule } from '../../server/flows/mint';
import { redemptionModule } from '../../server/flows/redemption';
import { openApiDocument } from '../../server/openapi/document';
import { openApiPath } from '../support/api-conformance';
import { startTestService, type TestService } from '../support/service';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** `GET /operator/flows/{flowId}` for every method and path the routers take (HEAD rides along with GET). */
function mountedOperations(routers: Router[]): Set<string> {
  const out = new Set<string>();
  for (const router of routers) {
    for (const layer of router.stack) {
      if (typeof layer.path !== 'string') throw new Error(`a route with a RegExp path cannot be documented: ${String(layer.path)}`);
      for (const method of layer.methods) {
        if (method === 'HEAD' && layer.methods.includes('GET')) continue;
        out.add(`${method} ${openApiPath(layer.path)}`);
      }
    }
  }
  return out;
}

function documentedOperations(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(openApiDocument().paths)) {
    for (const method of METHODS) if (item[method]) out.add(`${method.toUpperCase()} ${path}`);
  }
  return out;
}

describe('OpenAPI document: route coverage', () => {
  let svc: TestService;
  let mounted: Set<string>;

  before(async () => {
    svc = await startTestService();
    // The flow modules the issuance service composes; their routes close over their parts and are not called here.
    const alpaca = {} as AlpacaClient;
    const issuerRoutes = [mintModule(new Map(), alpaca), redemptionModule(new Map(), alpaca)].flatMap((m) => m.routes?.(svc) ?? []);
    const pass = (_ctx: unknown, next: () => Promise<void>) => next();
    const routers = appRouters({ ...svc, mode: 'sandbox', alpacaAuth: pass, operatorAuth: pass, issuerRoutes }, svc.metrics.registry);
    mounted = mountedOperations([...routers.public, routers.health, routers.metrics, ...routers.operator, ...routers.issuer]);
  });
  after(() => svc?.close());

  it('walks a realistic set of routers (Alpaca, operator, health and public routes all present)', () => {
    for (const op of ['POST /tokenization/mint', 'POST /inkind/issuance/confirm', 'GET /operator/flows/{flowId}', 'GET /health/ready', 'GET /openapi.json', 'GET /metrics']) {
      assert.ok(mounted.has(op), `${op} is not mounted`);
    }
  });

  it('documents every method and path the app mounts', () => {
    const documented = documentedOperations();
    assert.deepEqual([...mounted].filter((op) => !documented.has(op)).sort(), [], 'mounted but missing from the OpenAPI document');
  });

  it('documents no operation the app does not mount', () => {
    assert.deepEqual([...documentedOperations()].filter((op) => !mounted.has(op)).sort(), [], 'in the OpenAPI document but not mounted');
  });
});
