import { errorResponse, object, ok, type Paths, responseRef } from './building-blocks';

/** Health probes and this document: no credentials, mounted before the body reader and auth. */
export const publicPaths: Paths = {
  '/health/live': {
    get: {
      operationId: 'getLiveness',
      summary: 'The process answers',
      tags: ['health'],
      security: [],
      responses: {
        200: ok('Alive.', object({ status: { const: 'ok' }, mode: { type: 'string', examples: ['sandbox', 'production'] } })),
        500: responseRef('InternalError'),
      },
    },
  },
  '/health/ready': {
    get: {
      operationId: 'getReadiness',
      summary: 'The database answers',
      tags: ['health'],
      security: [],
      responses: {
        200: ok('Ready to serve.', object({ status: { const: 'ready' }, mode: { type: 'string' }, database: { const: 'ok' } })),
        503: errorResponse('The database does not answer.', { reasons: [{ code: 'not_ready', message: 'database unreachable' }] }),
        500: responseRef('InternalError'),
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      tags: ['health'],
      security: [],
      responses: {
        200: ok('The OpenAPI 3.1 document of every endpoint.', {
          type: 'object',
          required: ['openapi', 'info', 'paths', 'components'],
          properties: { openapi: { const: '3.1.0' } },
        }),
        500: responseRef('InternalError'),
      },
    },
  },
};
