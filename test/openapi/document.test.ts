import assert from 'node:assert/strict';
import packageJson from '../../package.json';
import { openApiDocument } from '../../server/openapi/document';
import { DocumentSchemas, jsonPointer } from '../support/api-conformance';

const doc = openApiDocument();
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
type Op = { operationId?: string; summary?: string; tags?: string[]; security?: Record<string, string[]>[]; parameters?: { name: string; in: string; schema: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses?: Record<string, unknown> };

const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as unknown as Op, where: `${method.toUpperCase()} ${path}` })),
);

/** Every `$ref` anywhere in the document, with where it was found. */
function refs(node: unknown, at = '#', out: { ref: string; at: string }[] = []): { ref: string; at: string }[] {
  if (Array.isArray(node)) node.forEach((n, i) => refs(n, `${at}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ ref: v, at });
      else refs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolves(ref: string): boolean {
  if (!ref.startsWith('#/')) return false;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node !== undefined;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1.0 with the package version', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.version, packageJson.version);
    assert.ok(doc.servers.length > 0);
  });

  it('resolves every $ref', () => {
    const all = refs(doc);
    assert.ok(all.length > 50, `only ${all.length} references: the walk missed the document`);
    assert.deepEqual(all.filter((r) => !resolves(r.ref)).map((r) => `${r.ref} at ${r.at}`), []);
  });

  it('gives every operation a unique operationId, a summary, a tag and responses', () => {
    assert.ok(operations.length >= 25, `only ${operations.length} operations`);
    const ids = operations.map((o) => o.op.operationId);
    assert.deepEqual(operations.filter((o) => !o.op.operationId || !o.op.summary || !o.op.tags?.length).map((o) => o.where), []);
    assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'duplicate operationIds');
    assert.deepEqual(operations.filter((o) => !o.op.responses || !Object.keys(o.op.responses).some((s) => /^2\d\d$/.test(s))).map((o) => o.where), [], 'operations without a 2xx answer');
  });

  it('declares exactly the path parameters each path template names', () => {
    const wrong = operations.filter(({ path, op }) => {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
      return JSON.stringify(inTemplate) !== JSON.stringify(declared);
    });
    assert.deepEqual(wrong.map((o) => o.where), []);
  });

  it('names a defined security scheme on every operation, and only health, the document and the console page are public', () => {
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    const undefinedSchemes = operations.flatMap((o) => (o.op.security ?? []).flatMap((req) => Object.keys(req).filter((s) => !schemes.has(s)).map((s) => `${o.where}: ${s}`)));
    assert.deepEqual(undefinedSchemes, []);
    const publicOps = operations.filter((o) => !o.op.security || o.op.security.length === 0).map((o) => o.where).sort();
    assert.deepEqual(publicOps, ['GET /console', 'GET /console/{file}', 'GET /health/live', 'GET /health/ready', 'GET /openapi.json']);
  });

  it('lists the gate, body and internal-error answers where they apply', () => {
    const missing: string[] = [];
    for (const o of operations) {
      const statuses = Object.keys(o.op.responses ?? {});
      const need = ['500'];
      if (o.op.security?.length) need.push('401', '403', '429');
      if (o.op.requestBody || ['post', 'put', 'patch'].includes(o.method)) need.push('400', '413', '415');
      for (const s of need) if (!statuses.includes(s)) missing.push(`${o.where} ${s}`);
    }
    assert.deepEqual(missing, []);
  });

  it('compiles every schema it holds (components, parameters, request and response bodies)', () => {
    const schemas = new DocumentSchemas(doc);
    const pointers: string[] = Object.keys(doc.components.schemas).map((n) => jsonPointer('components', 'schemas', n));
    for (const [name, response] of Object.entries(doc.components.responses)) {
      for (const type of Object.keys(response.content ?? {})) pointers.push(jsonPointer('components', 'responses', name, 'content', type, 'schema'));
    }
    for (const { path, method, op } of operations) {
      (op.parameters ?? []).forEach((_p, i) => pointers.push(jsonPointer('paths', path, method, 'parameters', i, 'schema')));
      for (const type of Object.keys(op.requestBody?.content ?? {})) pointers.push(jsonPointer('paths', path, method, 'requestBody', 'content', type, 'schema'));
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        for (const type of Object.keys((r as { content?: object }).content ?? {})) pointers.push(jsonPointer('paths', path, method, 'responses', status, 'content', type, 'schema'));
      }
    }
    const failures: string[] = [];
    for (const p of pointers) {
      try {
        schemas.validator(p);
      } catch (err) {
        failures.push(`${p}: ${(err as Error).message}`);
      }
    }
    assert.ok(pointers.length > 100, `only ${pointers.length} schemas found`);
    assert.deepEqual(failures, []);
  });

  describe('request bodies derived from the zod schemas', () => {
    const schemas = new DocumentSchemas(doc);
    const mintRequest = schemas.validator(jsonPointer('components', 'schemas', 'MintRequest'));
    const valid = { tokenization_request_id: 'req-1', qty: '1.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: '0x' + '1'.repeat(40), client_external_account_id: 'ap-1' };

    it("accept Alpaca's mint request, current and legacy names, with unknown extra fields", () => {
      assert.ok(mintRequest(valid), JSON.stringify(mintRequest.errors));
      const { tokenization_request_id: id, client_external_account_id: client, ...rest } = valid;
      assert.ok(mintRequest({ ...rest, id, client_id: client, fee_bps: 5 }), JSON.stringify(mintRequest.errors));
    });

    it('refuse what the handler refuses: 10 decimal places, two client ids, no request id', () => {
      assert.equal(mintRequest({ ...valid, qty: '1.0000000001' }), false);
      assert.equal(mintRequest({ ...valid, client_account_id: 'ACC-1' }), false);
      const { tokenization_request_id: _id, ...noId } = valid;
      assert.equal(mintRequest(noId), false);
    });

    it('keep operator bodies closed (unknown fields refused) like their strict zod schemas', () => {
      const addAsset = schemas.validator(jsonPointer('components', 'schemas', 'AddAssetRequest'));
      const asset = { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', vault_address: '0x' + '2'.repeat(40) };
      assert.ok(addAsset(asset), JSON.stringify(addAsset.errors));
      assert.equal(addAsset({ ...asset, colour: 'red' }), false);
    });
  });
});
