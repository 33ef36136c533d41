/**
 * HTTP Message Signatures (RFC 9421) with Ed25519, as Alpaca uses them to sign its calls to the
 * Issuer (Tokenization Guide for Issuer, "Option 2: HTTP Message Signatures (Ed25519)"):
 *
 *   Content-Type: application/json
 *   Content-Digest: sha-256=:<base64(sha256(raw-body))>:
 *   Signature-Input: sig=("@method" "@target-uri" "content-type" "content-digest");created=<unix-seconds>;keyid="<keyid>";alg="ed25519";nonce="<128-bit random hex>"
 *   Signature: sig=:<base64(ed25519-signature-bytes)>:
 *
 * and on bodyless GETs only `("@method" "@target-uri")`, without Content-Type / Content-Digest.
 *
 * Structured fields (Signature-Input, Signature, Content-Digest) are parsed and serialized with
 * `structured-headers` (RFC 8941/9651). The signature base (RFC 9421 §2.5) is built here for the
 * derived components @method, @target-uri, @authority, @scheme, @path, @query, @request-target
 * and for plain header fields without component parameters — enough for Alpaca's fixed set and
 * for RFC 9421's own Ed25519 test vector (Appendix B.2.6).
 *
 * `@target-uri` is the full absolute URI of the request as Alpaca sent it
 * (e.g. `https://issuer.example.com/tokenization/mint`); the caller supplies it, see
 * `requestTargetUri` in `alpaca-auth.ts` for how it is reconstructed behind a proxy.
 */
import { type KeyObject, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import {
  type InnerList,
  type Parameters,
  isInnerList,
  parseDictionary,
  serializeInnerList,
  serializeItem,
} from 'structured-headers';
import type { AuthErrorCode } from './errors';
import { CONTENT_DIGEST_HEADER, computeContentDigest, verifyContentDigest } from './content-digest';

/** The signature label Alpaca always uses. */
export const SIGNATURE_LABEL = 'sig';
/** RFC 9421 algorithm name for EdDSA over edwards25519. */
export const SIGNATURE_ALGORITHM = 'ed25519';
export const SIGNATURE_INPUT_HEADER = 'signature-input';
export const SIGNATURE_HEADER = 'signature';

/** Components a request with a body (every POST) must cover. */
export const COMPONENTS_WITH_BODY: readonly string[] = Object.freeze(['@method', '@target-uri', 'content-type', 'content-digest']);
/** Components a bodyless GET/HEAD must cover. */
export const COMPONENTS_WITHOUT_BODY: readonly string[] = Object.freeze(['@method', '@target-uri']);

/** Default tolerance for a `created` in the future (clock skew between Alpaca and us). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 10;
const MAX_NONCE_LENGTH = 256;

/** Header values as Node/Koa give them (lower-case names) or as a caller writes them (any case). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HttpRequestParts {
  method: string;
  /** Absolute URI of the request as the sender addressed it: scheme://authority/path?query. */
  targetUri: string;
  headers: HeaderBag;
  /** The exact body bytes received (empty for GET). */
  rawBody: Uint8Array;
}

export type SignatureFailureCode = Exclude<AuthErrorCode, 'invalid_api_key' | 'invalid_operator_token'>;

export type VerifyResult = { ok: true; keyid: string } | { ok: false; code: SignatureFailureCode; reason: string };

export interface VerifyOptions {
  /** Verification keys by keyid (several during a key rotation). Ed25519 public keys. */
  keys: ReadonlyMap<string, KeyObject>;
  /** Oldest acceptable `created`, in seconds before now. */
  maxAgeSeconds: number;
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Returns true if (keyid, nonce) was already seen; otherwise records it until expiresAtMs. See NonceStore. */
  nonceSeen(keyid: string, nonce: string, expiresAtMs: number): Promise<boolean>;
  /** How far `created` may lie in the future. Default DEFAULT_CLOCK_SKEW_SECONDS. */
  clockSkewSeconds?: number;
  /** Signature label to verify. Default `sig`. */
  label?: string;
}

export interface SignOptions {
  keyid: string;
  /** Ed25519 private key. */
  privateKey: KeyObject;
  /** Unix seconds. Default: now. */
  created?: number;
  /** Default: 128 random bits, hex (what Alpaca sends). */
  nonce?: string;
  /** Covered components. Default: requiredComponents(method, rawBody). */
  components?: readonly string[];
  /** Value of the `alg` parameter; `null` omits it. Default `ed25519`. */
  alg?: string | null;
  /** Default `sig`. */
  label?: string;
}

export interface SignedHeaders {
  /** Present when `content-digest` is covered; computed over the body. */
  'Content-Digest'?: string;
  'Signature-Input': string;
  Signature: string;
}

/** The components a request must cover: the full set with a body or for any non-GET/HEAD method. */
export function requiredComponents(method: string, rawBody: Uint8Array): readonly string[] {
  const m = method.toUpperCase();
  const bodyless = rawBody.length === 0 && (m === 'GET' || m === 'HEAD');
  return bodyless ? COMPONENTS_WITHOUT_BODY : COMPONENTS_WITH_BODY;
}

/** Parse a PEM (SPKI, `BEGIN PUBLIC KEY`) Ed25519 public key as Alpaca shares it at onboarding. */
export function ed25519PublicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  assertEd25519PublicKey(key);
  return key;
}

export function assertEd25519PublicKey(key: KeyObject, label = 'verification key'): void {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`${label} must be an Ed25519 public key`);
  }
}

// ---------------------------------------------------------------------------------------------
// Signature base (RFC 9421 §2.5)
// ---------------------------------------------------------------------------------------------

const DERIVED_COMPONENTS = new Set(['@method', '@target-uri', '@authority', '@scheme', '@path', '@query', '@request-target']);
const FIELD_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;

class ComponentError extends Error {}

function normalizeHeaders(headers: HeaderBag): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lines: readonly string[] = typeof value === 'string' ? [value] : value;
    // RFC 9421 §2.1: trim each field line, join multiple lines with ", ".
    const joined = lines.map((v) => v.trim()).join(', ');
    const key = name.toLowerCase();
    const prev = out.get(key);
    out.set(key, prev === undefined ? joined : `${prev}, ${joined}`);
  }
  return out;
}

function isSupportedComponent(name: string): boolean {
  return name.startsWith('@') ? DERIVED_COMPONENTS.has(name) : FIELD_NAME.test(name);
}

function componentValue(name: string, req: { method: string; targetUri: string }, headers: Map<string, string>): string {
  if (name === '@method') return req.method;
  if (name === '@target-uri') return req.targetUri;
  if (name.startsWith('@')) {
    let url: URL;
    try {
      url = new URL(req.targetUri);
    } catch {
      throw new ComponentError('target URI is not an absolute URI');
    }
    switch (name) {
      case '@authority':
        return url.host; // lower-cased, default port removed
      case '@scheme':
        return url.protocol.slice(0, -1);
      case '@path':
        return url.pathname === '' ? '/' : url.pathname;
      case '@query':
        return url.search === '' ? '?' : url.search;
      case '@request-target':
        return `${url.pathname === '' ? '/' : url.pathname}${url.search}`;
      default:
        throw new ComponentError('unsupported derived component');
    }
  }
  const value = headers.get(name);
  if (value === undefined) throw new ComponentError('a covered header field is absent from the request');
  return value;
}

/**
 * The RFC 9421 signature base for `components` (identifiers without parameters) and the
 * already-serialized `@signature-params` value.
 */
export function buildSignatureBase(
  req: { method: string; targetUri: string; headers: HeaderBag },
  components: readonly string[],
  signatureParams: string,
): string {
  const headers = normalizeHeaders(req.headers);
  const lines = components.map((c) => {
    if (!isSupportedComponent(c)) throw new ComponentError('unsupported component identifier');
    return `"${c}": ${componentValue(c, req, headers)}`;
  });
  lines.push(`"@signature-params": ${signatureParams}`);
  return lines.join('\n');
}

function serializeSignatureParams(components: readonly string[], params: Parameters): string {
  const list: InnerList = [components.map((c) => [c, new Map()]), params];
  return serializeInnerList(list);
}

// ---------------------------------------------------------------------------------------------
// Signing (our fake Alpaca, tests)
// ---------------------------------------------------------------------------------------------

/**
 * Produce the headers Alpaca would add to this request: Content-Digest (when covered),
 * Signature-Input and Signature. `req.headers` must already hold Content-Type when it is covered.
 */
export function signRequest(
  req: { method: string; targetUri: string; headers: HeaderBag; rawBody?: Uint8Array },
  options: SignOptions,
): SignedHeaders {
  if (options.privateKey.type !== 'private' || options.privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('signing key must be an Ed25519 private key');
  }
  const rawBody = req.rawBody ?? new Uint8Array(0);
  const components = options.components ?? requiredComponents(req.method, rawBody);
  const label = options.label ?? SIGNATURE_LABEL;

  const headers: Record<string, string | readonly string[] | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() !== CONTENT_DIGEST_HEADER) headers[k] = v;
  }
  const out: Partial<SignedHeaders> = {};
  if (components.includes(CONTENT_DIGEST_HEADER)) {
    out['Content-Digest'] = computeContentDigest(rawBody);
    headers[CONTENT_DIGEST_HEADER] = out['Content-Digest'];
  }

  const params: Parameters = new Map();
  params.set('created', options.created ?? Math.floor(Date.now() / 1000));
  params.set('keyid', options.keyid);
  const alg = options.alg === undefined ? SIGNATURE_ALGORITHM : options.alg;
  if (alg !== null) params.set('alg', alg);
  params.set('nonce', options.nonce ?? randomBytes(16).toString('hex'));

  const signatureParams = serializeSignatureParams(components, params);
  const base = buildSignatureBase({ method: req.method, targetUri: req.targetUri, headers }, components, signatureParams);
  const signature = cryptoSign(null, Buffer.from(base, 'utf8'), options.privateKey);

  return {
    ...out,
    'Signature-Input': `${label}=${signatureParams}`,
    Signature: `${label}=${serializeItem(signature)}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

function fail(code: SignatureFailureCode, reason: string): VerifyResult {
  return { ok: false, code, reason };
}

/**
 * Verify an inbound request signed per Alpaca's scheme. Checks, in order: headers present and
 * well-formed (label `sig`, keyid/created/nonce present), keyid known, alg ed25519, required
 * components covered, Ed25519 signature over the reconstructed base, `created`/`expires`
 * window, Content-Digest against the raw body, and finally the nonce (recorded only for requests
 * that passed everything else). A failing nonce store throws rather than returning a result.
 */
export async function verifyRequest(req: HttpRequestParts, options: VerifyOptions): Promise<VerifyResult> {
  const label = options.label ?? SIGNATURE_LABEL;
  const headers = normalizeHeaders(req.headers);
  const inputHeader = headers.get(SIGNATURE_INPUT_HEADER);
  const sigHeader = headers.get(SIGNATURE_HEADER);
  if (inputHeader === undefined || sigHeader === undefined || inputHeader === '' || sigHeader === '') {
    return fail('missing_credentials', 'Signature-Input and Signature headers are required');
  }

  // --- parse -----------------------------------------------------------------------------
  let inputMember;
  let sigMember;
  try {
    inputMember = parseDictionary(inputHeader).get(label);
    sigMember = parseDictionary(sigHeader).get(label);
  } catch {
    return fail('malformed_signature', 'Signature-Input or Signature is not a valid structured field');
  }
  if (inputMember === undefined || sigMember === undefined) {
    return fail('malformed_signature', 'the expected signature label is absent');
  }
  if (!isInnerList(inputMember)) return fail('malformed_signature', 'Signature-Input member is not an inner list');
  if (isInnerList(sigMember) || !(sigMember[0] instanceof ArrayBuffer)) {
    return fail('malformed_signature', 'Signature member is not a byte sequence');
  }
  const signature = Buffer.from(sigMember[0]);

  const [items, params] = inputMember;
  const components: string[] = [];
  for (const [value, itemParams] of items) {
    if (typeof value !== 'string') return fail('malformed_signature', 'component identifiers must be strings');
    if (itemParams.size > 0) return fail('malformed_signature', 'component parameters are not supported');
    if (!isSupportedComponent(value)) return fail('malformed_signature', 'unsupported component identifier');
    if (components.includes(value)) return fail('malformed_signature', 'duplicate component identifier');
    components.push(value);
  }

  const keyid = params.get('keyid');
  const created = params.get('created');
  const nonce = params.get('nonce');
  const alg = params.get('alg');
  const expires = params.get('expires');
  if (typeof keyid !== 'string' || keyid === '') return fail('malformed_signature', 'keyid parameter is required');
  if (typeof created !== 'number' || !Number.isInteger(created) || created < 0) {
    return fail('malformed_signature', 'created parameter must be an integer');
  }
  if (typeof nonce !== 'string' || nonce === '' || nonce.length > MAX_NONCE_LENGTH) {
    return fail('malformed_signature', 'nonce parameter is required');
  }
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires))) {
    return fail('malformed_signature', 'expires parameter must be an integer');
  }

  // --- key and algorithm -----------------------------------------------------------------
  const key = options.keys.get(keyid);
  if (key === undefined) return fail('unknown_key_id', 'keyid is not a configured verification key');
  if (alg !== undefined && alg !== SIGNATURE_ALGORITHM) {
    return fail('unsupported_algorithm', 'only ed25519 signatures are accepted');
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    return fail('unsupported_algorithm', 'configured key is not an Ed25519 public key');
  }

  // --- coverage --------------------------------------------------------------------------
  const required = requiredComponents(req.method, req.rawBody);
  if (!required.every((c) => components.includes(c))) {
    return fail('insufficient_coverage', `signature must cover ${required.map((c) => `"${c}"`).join(' ')}`);
  }
  if (components.includes(CONTENT_DIGEST_HEADER) && !headers.has(CONTENT_DIGEST_HEADER)) {
    return fail('content_digest_mismatch', 'Content-Digest header is missing');
  }

  // --- signature -------------------------------------------------------------------------
  let base: string;
  try {
    base = buildSignatureBase(req, components, serializeInnerList(inputMember));
  } catch (err) {
    if (err instanceof ComponentError) return fail('invalid_signature', `cannot build signature base: ${err.message}`);
    throw err;
  }
  let valid = false;
  try {
    valid = cryptoVerify(null, Buffer.from(base, 'utf8'), key, signature);
  } catch {
    valid = false;
  }
  if (!valid) return fail('invalid_signature', 'signature verification failed');

  // --- validity window -------------------------------------------------------------------
  const now = options.now();
  const skewMs = (options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const createdMs = created * 1000;
  if (createdMs > now + skewMs) return fail('stale_signature', 'created lies in the future');
  if (now - createdMs > options.maxAgeSeconds * 1000) return fail('stale_signature', 'created is too old');
  if (typeof expires === 'number' && expires * 1000 + skewMs < now) return fail('stale_signature', 'signature has expired');

  // --- body integrity --------------------------------------------------------------------
  // Checked whenever the header is present (it is always covered when the body is non-empty).
  const digestHeader = headers.get(CONTENT_DIGEST_HEADER);
  if (digestHeader !== undefined) {
    const check = verifyContentDigest(digestHeader, req.rawBody);
    if (!check.ok) return fail('content_digest_mismatch', check.reason);
  }

  // --- replay ----------------------------------------------------------------------------
  // Keep the nonce until the signature would be rejected as too old anyway.
  const expiresAtMs = createdMs + options.maxAgeSeconds * 1000 + skewMs;
  if (await options.nonceSeen(keyid, nonce, expiresAtMs)) {
    return fail('replayed_nonce', 'nonce has already been used');
  }
  return { ok: true, keyid };
}
