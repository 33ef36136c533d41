/**
 * The small vocabulary the OpenAPI paths are written in. Schemas are JSON Schema 2020-12 (OpenAPI
 * 3.1), so zod's `z.toJSONSchema` output and hand-written response schemas sit side by side.
 */

export type JsonSchema = { [keyword: string]: unknown };

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface MediaType {
  schema: JsonSchema;
}

export interface Response {
  description: string;
  content?: Record<string, MediaType>;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, MediaType> };
  responses: Record<string, Response | { $ref: string }>;
}

export type PathItem = Partial<Record<'get' | 'put' | 'post' | 'patch' | 'delete', Operation>>;
export type Paths = Record<string, PathItem>;

export const ref = (schema: string): JsonSchema => ({ $ref: `#/components/schemas/${schema}` });
export const responseRef = (response: string) => ({ $ref: `#/components/responses/${response}` });

export const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });

/** A closed object: every response body lists all its fields, so a field added to a handler shows up as a mismatch. */
export function object(properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties), extra: JsonSchema = {}): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

export const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

export function ok(description: string, schema: JsonSchema): Response {
  return { description, content: json(schema) };
}

export function jsonBody(schema: JsonSchema) {
  return { required: true, content: json(schema) };
}

export function pathParam(name: string, description: string, schema: JsonSchema = { type: 'string', minLength: 1 }): Parameter {
  return { name, in: 'path', required: true, description, schema };
}

/** What an error answer may look like: plain `{code, message}` with one of `codes`, or one of the richer shapes. */
export interface ErrorShapes {
  codes?: string[];
  /** `{code: "invalid_request", message, issues}`: a zod validation failure. */
  validation?: boolean;
  /** `{code: "event_not_accepted", message, state, event}`. */
  eventNotAccepted?: boolean;
  /** Exact `{code, message}` pairs (Alpaca's documented reason strings), or a message pattern. */
  reasons?: { code: string; message?: string; messagePattern?: string }[];
  /** Other error bodies, in full. */
  shapes?: JsonSchema[];
}

/** An error response whose body must be one of the listed shapes and codes. */
export function errorResponse(description: string, shapes: ErrorShapes): Response {
  const variants: JsonSchema[] = [];
  if (shapes.codes?.length) variants.push({ allOf: [ref('Error'), { properties: { code: { enum: [...new Set(shapes.codes)] } } }] });
  for (const r of shapes.reasons ?? []) {
    const message: JsonSchema = r.message !== undefined ? { const: r.message } : r.messagePattern !== undefined ? { pattern: r.messagePattern } : {};
    variants.push({ allOf: [ref('Error'), { properties: { code: { const: r.code }, message } }] });
  }
  if (shapes.validation) variants.push(ref('ValidationError'));
  if (shapes.eventNotAccepted) variants.push(ref('EventNotAcceptedError'));
  variants.push(...(shapes.shapes ?? []));
  if (variants.length === 0) throw new Error(`error response "${description}" lists no shape`);
  return { description, content: json(variants.length === 1 ? variants[0]! : { anyOf: variants }) };
}

/** Merges several descriptions of one status (e.g. the body reader's 400s and a handler's 400s) into one response. */
export function mergeErrors(description: string, ...shapes: ErrorShapes[]): Response {
  return errorResponse(description, {
    codes: shapes.flatMap((s) => s.codes ?? []),
    reasons: shapes.flatMap((s) => s.reasons ?? []),
    validation: shapes.some((s) => s.validation),
    eventNotAccepted: shapes.some((s) => s.eventNotAccepted),
    shapes: shapes.flatMap((s) => s.shapes ?? []),
  });
}
