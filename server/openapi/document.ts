import packageJson from '../../package.json';
import type { JsonSchema, Paths, Response } from './building-blocks';
import { alpacaPaths } from './alpaca-paths';
import { auditPaths } from './audit-paths';
import { reconciliationPaths } from './reconciliation-paths';
import { consolePaths } from './console-paths';
import { responses, schemas, securitySchemes } from './components';
import { metricsPaths, operatorPaths } from './operator-paths';
import { controlsPaths } from './controls-paths';
import { publicPaths } from './public-paths';
import { requestBodies } from './request-bodies';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Paths;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, Response>; securitySchemes: typeof securitySchemes };
}

const description = [
  "The Issuer side of Alpaca's Instant Tokenization Network: Alpaca links accounts, lists tokens, requests mints and confirms journals here;",
  'operators register APs and assets and resolve flows that need a person.',
  '',
  'Every error is JSON `{code, message}` with a stable snake_case `code` (`components.responses.NoRoute` is the answer when no route matches).',
  "Alpaca's endpoints are served at the current paths and at the seeds' paths, by the same handlers.",
  'Every GET also answers HEAD (same status and headers, no body).',
].join('\n');

let built: OpenApiDocument | undefined;

/** The OpenAPI 3.1 document of every endpoint the app mounts; built once, it never changes while the process runs. */
export function openApiDocument(): OpenApiDocument {
  built ??= {
    openapi: '3.1.0',
    info: { title: 'issuance-bot', version: packageJson.version, description },
    servers: [
      { url: '/', description: 'The origin this document was fetched from (PUBLIC_BASE_URL behind a proxy).' },
      { url: 'http://127.0.0.1:8080', description: 'The sandbox (`npm start`) with its default HOST and PORT.' },
    ],
    tags: [
      { name: 'alpaca', description: 'Called by Alpaca (X-API-KEY or RFC 9421 signature).' },
      { name: 'operator', description: "Called by the issuer's operators (bearer token)." },
      { name: 'health', description: 'No credentials.' },
      { name: 'console', description: "The operators' web console: its page (no credentials) and the live journal and state charts it reads (bearer token)." },
    ],
    paths: { ...publicPaths, ...alpacaPaths, ...operatorPaths, ...controlsPaths, ...metricsPaths, ...consolePaths, ...reconciliationPaths, ...auditPaths },
    components: { schemas: { ...schemas, ...requestBodies }, responses, securitySchemes },
  };
  return built;
}
