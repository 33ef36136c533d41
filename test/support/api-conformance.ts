import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ObservedResponse } from '../../server/app';
import type { Response } from '../../server/openapi/building-blocks';
import { NO_ROUTE_STATUSES } from '../../server/openapi/components';
import { type OpenApiDocument, openApiDocument } from '../../server/openapi/document';

const DOCUMENT_ID = 'http://issuance-bot.test/openapi.json';

/** `/operator/flows/:flowId` (the router's pattern) → `/operator/flows/{flowId}` (OpenAPI's). */
export function openApiPath(routePattern: string): string {
  return routePattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const pointerPart = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
export const jsonPointer = (...parts: (string | number)[]) => parts.map((p) => `/${pointerPart(String(p))}`).join('');

/** Compiles any schema inside the document by its JSON pointer, with every `#/components/...` reference resolved against the document. */
export class DocumentSchemas {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDocument) {
    // strict: false because the document around the schemas has OpenAPI keys (paths, responses…) Ajv does not know.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, DOCUMENT_ID);
  }

  validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.compiled.set(pointer, v);
    }
    return v;
  }
}

export interface Violation {
  method: string;
  route: string;
  status: number;
  problem: string;
  body: string;
}

function excerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body) ?? String(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 4)
    .map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}

/** What reaches the wire: the body as JSON would carry it (undefined fields dropped, dates as strings). */
function onTheWire(body: unknown): { ok: true; value: unknown } | { ok: false } {
  if (body === undefined || body === null || typeof body === 'string') return { ok: true, value: body ?? undefined };
  if (Buffer.isBuffer(body)) return { ok: true, value: body.toString('utf8') };
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(body)) };
  } catch {
    return { ok: false };
  }
}

/**
 * Checks every response the test services produce against the OpenAPI document: the operation
 * must be documented, the status listed, the content type declared, and the body must validate.
 * It records violations rather than throwing, so the service under test answers as it would.
 */
export class ApiConformance {
  private readonly schemas: DocumentSchemas;
  /** Services started with this collector as their response observer. */
  services = 0;
  checked = 0;
  readonly violations: Violation[] = [];
  /** How many responses each operation (or the no-route answer) produced. */
  readonly exercised = new Map<string, number>();

  constructor(readonly doc: OpenApiDocument) {
    this.schemas = new DocumentSchemas(doc);
  }

  /** The `onResponse` hook for one service. */
  observer(): (response: ObservedResponse) => void {
    this.services++;
    return (response) => {
      this.record(response);
    };
  }

  /** Checks one response; returns its violation, if any. */
  record(response: ObservedResponse): Violation | undefined {
    this.checked++;
    let problem: string | undefined;
    try {
      problem = this.problemWith(response);
    } catch (err) {
      problem = `checker failed: ${(err as Error).message}`;
    }
    if (!problem) return undefined;
    const violation = { method: response.method, route: response.route ?? '(no route)', status: response.status, problem, body: excerpt(response.body) };
    this.violations.push(violation);
    return violation;
  }

  private problemWith(r: ObservedResponse): string | undefined {
    const method = r.method === 'HEAD' ? 'get' : r.method.toLowerCase(); // HEAD is served by the GET handler
    let responsePointer: string;
    if (r.route === undefined && r.method === 'OPTIONS' && r.status === 200) {
      this.count('(allowed methods)');
      responsePointer = jsonPointer('components', 'responses', 'AllowedMethods');
    } else if (r.route === undefined) {
      if (!NO_ROUTE_STATUSES.includes(r.status)) return `status ${r.status} is not one the no-route answer may carry (${NO_ROUTE_STATUSES.join(', ')})`;
      this.count('(no route)');
      responsePointer = jsonPointer('components', 'responses', 'NoRoute');
    } else {
      const path = openApiPath(r.route);
      const item = this.doc.paths[path] as Record<string, { operationId: string; responses: Record<string, unknown> }> | undefined;
      if (!item) return `route ${r.route} is not in the document`;
      const operation = item[method];
      if (!operation) return `${method.toUpperCase()} ${path} is not in the document`;
      this.count(operation.operationId);
      const documented = operation.responses[String(r.status)] as (Response | { $ref: string }) | undefined;
      if (!documented) return `status ${r.status} is not documented for ${operation.operationId} (documented: ${Object.keys(operation.responses).join(', ')})`;
      responsePointer = '$ref' in documented ? documented.$ref.slice(1) : jsonPointer('paths', path, method, 'responses', r.status);
    }

    const response = this.resolve(responsePointer) as Response;
    const wire = onTheWire(r.body);
    if (!wire.ok) return 'the body is not JSON-serializable';
    if (!response.content) return wire.value === undefined || wire.value === '' ? undefined : 'a body was sent where the document declares none';
    const mediaType = r.contentType || '(none)';
    if (!(mediaType in response.content)) return `content type ${mediaType} is not declared (declared: ${Object.keys(response.content).join(', ')})`;
    const validate = this.schemas.validator(`${responsePointer}${jsonPointer('content', mediaType, 'schema')}`);
    if (!validate(wire.value)) return `body does not match the schema: ${describeErrors(validate.errors)}`;
    return undefined;
  }

  private resolve(pointer: string): unknown {
    let node: unknown = this.doc;
    for (const part of pointer.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`${pointer} does not resolve in the document`);
    return node;
  }

  private count(operation: string): void {
    this.exercised.set(operation, (this.exercised.get(operation) ?? 0) + 1);
  }

  /** Why the run fails, or undefined when every checked response conforms (and some were checked). */
  verdict(): string | undefined {
    if (this.services > 0 && this.checked === 0) {
      return `${this.services} service(s) ran with the response observer, yet no response was checked: the observer is not wired through to the app`;
    }
    if (this.violations.length === 0) return undefined;
    const grouped = new Map<string, { v: Violation; n: number }>();
    for (const v of this.violations) {
      const key = `${v.method} ${v.route} → ${v.status}: ${v.problem}`;
      const g = grouped.get(key);
      if (g) g.n++;
      else grouped.set(key, { v, n: 1 });
    }
    const lines = [...grouped].map(([key, { v, n }]) => `  ${key}${n > 1 ? ` (×${n})` : ''}\n      body: ${v.body}`);
    return `${this.violations.length} of ${this.checked} responses do not match the OpenAPI document:\n${lines.join('\n')}`;
  }

  summary(): string {
    const operations = Object.values(this.doc.paths).flatMap((item) => Object.values(item).map((op) => op!.operationId));
    const unexercised = operations.filter((id) => !this.exercised.has(id));
    return [
      `API conformance: ${this.checked} responses from ${this.services} service(s) checked against the OpenAPI document, ${this.violations.length} violation(s);`,
      `  ${operations.length - unexercised.length} of ${operations.length} operations exercised${unexercised.length ? ` (not exercised: ${unexercised.join(', ')})` : ''}.`,
    ].join('\n');
  }
}

/**
 * The collector the test services report to; the root hook checks it after the whole suite. Kept on
 * globalThis so the hook and the services share it even if the module is loaded twice (mocha's
 * `require` and the spec files may go through different loaders).
 */
const KEY = Symbol.for('issuance-bot.api-conformance');
export const apiConformance: ApiConformance = ((globalThis as Record<symbol, ApiConformance>)[KEY] ??= new ApiConformance(openApiDocument()));
