/**
 * Property-based HTTP fuzz of every endpoint (fast-check) against one real service: SQLite file,
 * anvil devnet, fake Alpaca over HTTP (test/support/mint-env.ts).
 *
 * Thousands of malformed, oversized, wrongly typed, duplicated and out-of-order requests, with and
 * without valid credentials, to the Alpaca-facing, operator and health endpoints, plus VALID
 * requests (counted separately) so generation reaches the deep validation branches. Each scenario
 * breaks mostly one layer at a time (credential, method, path, content type, body, headers), so a
 * broken body still arrives with a valid key and the other way round. Every answer is checked:
 *
 *  - no 5xx; no connection reset, hang or unparseable answer (a connection that answered a body
 *    over the limit is also checked to still serve, or to have been closed);
 *  - every 4xx carries a JSON `{code, message}` body, `code` matching /^[a-z_0-9]+$/;
 *  - a request answered 4xx did not change the journal (row count, checked around each request);
 *  - no secret (X-API-KEY, operator token, outbound Alpaca secret, keystore password, issuer key)
 *    in any response body or header;
 *  - a request without a valid credential of the right realm is never answered 2xx;
 *  - valid requests are accepted, and scenarios get the answers the README documents (404 for a
 *    confirm before the request, 422 mismatch, 409 conflicts, the same issuer_request_id on repeats).
 *
 * Violations are collected during the campaign and asserted per property at the end, each with a
 * concrete reproduction (secrets redacted). Reproducible: FUZZ_SEED (default below), FUZZ_RUNS
 * (generated scenarios, each 1..8 requests), FUZZ_MAX_COMPLETED (real mints put on chain).
 * Debugging: FUZZ_DEBUG=1 prints answers per endpoint and status; FUZZ_TRACE=<substring of
 * "<label> <status> <code>"> prints the matching requests and answers.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { getAddress, Wallet } from 'ethers';
import fc from 'fast-check';
import { AP_ACCOUNT, AP_EMAIL, type MintEnv, startMintEnv, waitForState } from '../support/mint-env';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${raw}`);
  return n;
}

const SEED = envInt('FUZZ_SEED', 20261125);
const RUNS = envInt('FUZZ_RUNS', 2300);
/** Confirms with status "completed" put a real mint on chain; a handful is enough and keeps the run short. */
const MAX_COMPLETED_CONFIRMS = envInt('FUZZ_MAX_COMPLETED', 6);
const MIN_CASES = 3000;
const BODY_LIMIT = 64 * 1024;
const CODE_RE = /^[a-z_0-9]+$/;

// ---------------------------------------------------------------------------------------------
// A tiny JSON AST, so bodies can hold what JSON.stringify cannot produce: raw number tokens
// (1e400), duplicated keys, nesting deeper than any stack, and references resolved at send time.
// ---------------------------------------------------------------------------------------------

class Raw {
  constructor(readonly text: string) {}
}
/** An object with ordered entries; a key may repeat (duplicated keys in the raw text). */
class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, J]>) {}
}
class Deep {
  constructor(readonly depth: number, readonly kind: 'array' | 'object', readonly leaf: J) {}
}
/** A value known only when the request is sent (ids of flows created earlier in the run, fresh unique values, …). */
class Ref {
  constructor(readonly name: RefName, readonly index = 0) {}
}
type J = null | boolean | number | string | Raw | Obj | Deep | Ref | J[];
type RefName =
  | 'apId' | 'apEmail' | 'apAccount' | 'apWallet' | 'apWalletUpper'
  | 'sacAssetId' | 'sacApId' | 'sacApEmail' | 'sacWallet'
  | 'mintTrid' | 'mintIrid' | 'overdueTrid' | 'flowId'
  | 'freshTrid' | 'freshEmail' | 'freshSymbol' | 'freshAddress' | 'freshAccount';

const obj = (o: Record<string, J>): Obj => new Obj(Object.entries(o));

// ---------------------------------------------------------------------------------------------
// Requests, responses, the run's state
// ---------------------------------------------------------------------------------------------

interface Req {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  chunked?: boolean;
}
interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json?: any;
}
type Realm = 'alpaca' | 'operator' | 'health' | 'none';
/** `invalid`: certainly not the realm's credential; `ambiguous`: a variant the server may normalise (whitespace, case). */
type CredClass = 'valid' | 'invalid' | 'ambiguous';

interface KnownMint {
  trid: string;
  irid: string;
  body: Buffer;
  path: string;
  /** Still awaiting Alpaca's journal confirm, as far as this run knows. */
  pending: boolean;
}

interface RunState {
  mints: KnownMint[];
  overdue: string[];
  sacAssets: string[];
  sacAps: Array<{ apId: string; email: string; wallet: string }>;
  counter: number;
  completedConfirms: number;
}

interface Step {
  label: string;
  valid: boolean;
  realm: Realm;
  cred: CredClass;
  burst?: number;
  build(): Req | undefined | Promise<Req | undefined>;
  /** A scenario's own expectation; returns a description of what went wrong, if anything. */
  expect?(res: Res): string | undefined;
  after?(res: Res, req: Req): void | Promise<void>;
}

interface Violation {
  property: 'no_5xx' | 'error_shape' | 'journal_write' | 'secret_leak' | 'auth_bypass' | 'expectation' | 'transport';
  label: string;
  detail: string;
  repro: string;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-'.split('');
const HEX = '0123456789abcdef'.split('');
const idArb = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 40 });
/** Header-safe text (what Node's client lets through: visible ASCII, space, tab, latin-1). */
const headerTextArb = fc.string({ unit: fc.oneof(fc.constantFrom(...ID_CHARS), fc.constantFrom(' ', '\t', '"', ',', ';', '=', '\u00e9', '\u00ff', '\u0080')), maxLength: 80 });

const rawNumberArb = fc.constantFrom(
  '1e400', '-1e400', '1e-400', '-0', '0e0', '9'.repeat(400), '123456789012345678901234567890', '1.0000000000000000000001',
  '0.' + '0'.repeat(300) + '1', '18446744073709551617', '-9223372036854775809', '1E+2', '2.5e-3',
).map((t) => new Raw(t));

const weirdStringArb = fc.constantFrom(
  '', ' ', '\u0000', 'null', 'undefined', 'true', '0', '-1', 'NaN', 'Infinity', '[]', '{}', '\ud800', '\udfff', '\ud83d\ude00',
  '\u202eTSLA', 'A\u0301', '\uff21\uff21\uff30\uff2c', '\u0661\u0662', '\ud835\udfd9', 'ǅ', '<script>alert(1)</script>', "' OR 1=1 --",
  '../../etc/passwd', '%00', '\r\n', '\\', '"', 'mint:x', '__proto__', 'constructor', '0x', '0X' + 'AB'.repeat(20), '\ufeff',
);

const hostileLeafArb: fc.Arbitrary<J> = fc.oneof(
  { weight: 3, arbitrary: weirdStringArb },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 101, max: 5000 }).map((n) => 'A'.repeat(n)) },
  { weight: 2, arbitrary: fc.constantFrom<J>(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE) },
  { weight: 2, arbitrary: rawNumberArb },
  { weight: 1, arbitrary: fc.double().map((d) => (Number.isFinite(d) ? d : new Raw(String(d)))) },
);

/** Any JSON-ish value, including arrays where objects belong, objects where strings belong, and deep nesting. */
const hostileArb: fc.Arbitrary<J> = fc.letrec<{ v: J }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: hostileLeafArb },
    { weight: 1, arbitrary: fc.array(tie('v'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), weirdStringArb), tie('v')), { maxLength: 4 }).map((e) => new Obj(e)) },
    { weight: 1, arbitrary: deepArb() },
  ),
})).v;

function deepArb(): fc.Arbitrary<Deep> {
  return fc
    .tuple(fc.constantFrom(64, 500, 2_000, 5_000, 9_000, 12_000), fc.constantFrom<'array' | 'object'>('array', 'object'), fc.constantFrom<J>(null, 1, 'x'))
    .map(([d, k, l]) => new Deep(d, k, l));
}

/** A valid quantity: positive, at most 9 decimal places, no exponent. */
const validQtyArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 1, maxLength: 9 }), { nil: undefined }))
  .map(([whole, frac]) => `${whole}${frac ? `.${frac}` : ''}`)
  .filter((q) => /[1-9]/.test(q));

const badQtyArb: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>('0', '0.0', '-1', '1e3', ' 1', '1 ', '1.', '.5', '01', '1.0000000001', '1,5', '+1', '0x1', 'NaN', 'Infinity', '\uff11', '\u0661', '1'.repeat(31), '0.000000000', 1, 1.5, 0, true, null, [], ''),
  rawNumberArb,
  hostileArb,
);

const badWalletArb: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>('0x1234', '0x' + 'g'.repeat(40), '0x' + 'ab'.repeat(20) + 'a', 'vitalik.eth', '7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV', ' 0x' + '11'.repeat(20), '0x' + '00'.repeat(20), '0X' + '11'.repeat(20), ''),
  fc.constant(new Ref('sacWallet', 0)),
  fc.constant(new Ref('sacWallet', 1)),
  // a mixed-case address with a broken checksum
  fc.array(fc.constantFrom(...HEX, 'A', 'B', 'C', 'D', 'E', 'F'), { minLength: 40, maxLength: 40 }).map((h) => '0x' + h.join('')),
  hostileArb,
);

const badNetworkArb: fc.Arbitrary<J> = fc.oneof(fc.constantFrom<J>('BASE', 'base ', 'ethereum', 'solana', 'plasma', 'tron', '', 'b'.repeat(41), 'b\u00e4se', 'base\u0000'), hostileArb);
const badSymbolArb: fc.Arbitrary<J> = fc.oneof(fc.constantFrom<J>('aapl', 'TSLA', 'tAAPL ', 'A'.repeat(41), 'AAPL;DROP TABLE journal', '../', 'tFUZZA', 'FUZZA', '\u0410APL'), hostileArb);
const badIdArb: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>('', 'a'.repeat(101), 'has space', 'slash/id', 'mint:', '\u00e9', 'x\u0000'),
  fc.uuid(),
  fc.constant(new Ref('mintTrid', 0)),
  hostileArb,
);
const badClientArb: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>('nobody', AP_ACCOUNT, '', 'x'.repeat(101)),
  fc.constant(new Ref('sacApId', 0)),
  fc.constant(new Ref('sacApId', 1)),
  fc.constant(new Ref('apAccount')),
  hostileArb,
);

/** Field-level mutations of a template object: drop, replace, add, duplicate a key (first or last wins). */
type Mutation = { op: 'delete'; key: string } | { op: 'set'; key: string; value: J } | { op: 'add'; key: string; value: J } | { op: 'dupBefore' | 'dupAfter'; key: string; value: J };

function mutationsArb(keys: readonly string[], fieldArbs: Record<string, fc.Arbitrary<J>>): fc.Arbitrary<Mutation[]> {
  const keyArb = fc.constantFrom(...keys);
  const valueFor = (k: string) => fieldArbs[k] ?? hostileArb;
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    keyArb.map((key) => ({ op: 'delete' as const, key })),
    { weight: 4, arbitrary: keyArb.chain((key) => fc.oneof(valueFor(key), hostileArb).map((value) => ({ op: 'set' as const, key, value }))) },
    fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'client_id', 'client_account_id', 'status', 'type', '')), hostileArb).map(([key, value]) => ({ op: 'add' as const, key, value })),
    fc.tuple(keyArb, fc.oneof(valueFor(keys[0]!), hostileArb), fc.boolean()).map(([key, value, before]) => ({ op: before ? ('dupBefore' as const) : ('dupAfter' as const), key, value })),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 });
}

function applyMutations(template: Obj, muts: Mutation[]): Obj {
  let entries = [...template.entries];
  for (const m of muts) {
    if (m.op === 'delete') entries = entries.filter(([k]) => k !== m.key);
    else if (m.op === 'set') entries = entries.some(([k]) => k === m.key) ? entries.map(([k, v]) => [k, k === m.key ? m.value : v] as const) : [...entries, [m.key, m.value] as const];
    else if (m.op === 'add') entries = [...entries, [m.key, m.value] as const];
    else if (m.op === 'dupBefore') entries = [[m.key, m.value] as const, ...entries];
    else entries = [...entries, [m.key, m.value] as const];
  }
  return new Obj(entries);
}

/** What goes on the wire as a body. */
type BodySpec =
  | { t: 'none' }
  | { t: 'empty' }
  | { t: 'json'; value: J; prefix?: string; suffix?: string; truncate?: number; badUtf8?: { bytes: number[]; at: number } }
  | { t: 'bytes'; bytes: Uint8Array }
  | { t: 'text'; text: string }
  | { t: 'oversized'; value: J; size: number; chunked: boolean };

const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xfe, 0xfe, 0xff, 0xff]];
const MALFORMED_TEXT = [
  '{', '}', '{"a":1,}', "{'qty':'1'}", '{"qty":NaN}', '{"qty":Infinity}', '{"a":1}/*c*/', '// x\n{}', '{"a":"unterminated}', '{"a":1}{"b":2}', '{"a" 1}',
  '[1,2', 'nul', 'tru', '{"\\u00"}', '{"a":"\\x41"}', '{"a":01}', '{"a":.5}', '{"a":-}', '\u0000{}', 'undefined', '{"a":1}\u0000', '{,}', '{"":}', '[]]',
];

/** Bodies that break the transport or the JSON layer (the endpoint's own shape, mutated, is the default body). */
function bodyArb(shaped: fc.Arbitrary<J>, hostileOnly = false): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    { weight: hostileOnly ? 1 : 18, arbitrary: shaped.map((value) => ({ t: 'json' as const, value })) },
    { weight: 3, arbitrary: fc.oneof(hostileArb, fc.array(shaped, { maxLength: 2 }), fc.constantFrom<J>(null, 0, 'x', true, new Raw('1e400'))).map((value) => ({ t: 'json' as const, value })) },
    { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), hostileArb, { maxKeys: 6 }).map((d) => ({ t: 'json' as const, value: obj(d) })) },
    { weight: 2, arbitrary: fc.tuple(shaped, deepArb(), fc.constantFrom('qty', 'type', 'wallets', 'email', 'note', 'extra')).map(([v, deep, key]) => ({ t: 'json' as const, value: v instanceof Obj ? new Obj([...v.entries, [key, deep]]) : deep })) },
    { weight: 1, arbitrary: deepArb().map((value) => ({ t: 'json' as const, value })) },
    { weight: 2, arbitrary: fc.tuple(shaped, fc.double({ min: 0, max: 1, noNaN: true })).map(([value, f]) => ({ t: 'json' as const, value, truncate: f })) },
    { weight: 2, arbitrary: fc.tuple(shaped, fc.constantFrom(...INVALID_UTF8), fc.double({ min: 0, max: 1, noNaN: true })).map(([value, bytes, at]) => ({ t: 'json' as const, value, badUtf8: { bytes, at } })) },
    { weight: 1, arbitrary: fc.tuple(shaped, fc.constantFrom('\ufeff', ' \n\t', '\u00a0', ''), fc.constantFrom('', 'x', '}', ' ', '\u0000', ',{}')).map(([value, prefix, suffix]) => ({ t: 'json' as const, value, prefix, suffix })) },
    { weight: 2, arbitrary: fc.constantFrom(...MALFORMED_TEXT).map((text) => ({ t: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => ({ t: 'bytes' as const, bytes })) },
    { weight: 2, arbitrary: fc.tuple(shaped, fc.oneof(fc.constant(BODY_LIMIT), fc.constant(BODY_LIMIT + 1), fc.integer({ min: BODY_LIMIT + 2, max: 2 * BODY_LIMIT }), fc.integer({ min: 3 * BODY_LIMIT, max: 5 * BODY_LIMIT })), fc.boolean()).map(([value, size, chunked]) => ({ t: 'oversized' as const, value, size, chunked })) },
    { weight: 1, arbitrary: fc.constantFrom<BodySpec>({ t: 'none' }, { t: 'empty' }) },
  );
}

const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant<string | undefined>('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | undefined>(
      undefined, '', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1', 'application/json; charset=utf-16', 'text/plain',
      'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'application/problem+json', 'a/b/c', ';;',
      'application/json, text/html', 'application/xml',
    ),
  },
);

const METHODS_EXOTIC = http.METHODS.filter((m) => !['CONNECT', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].includes(m));
const methodArb = (correct: string) =>
  fc.oneof(
    { weight: 16, arbitrary: fc.constant(correct) },
    { weight: 3, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
    { weight: 1, arbitrary: fc.constantFrom(...METHODS_EXOTIC) },
  );

type PathMut = 'exact' | 'trailingSlash' | 'doubleSlash' | 'upper' | 'matrix' | 'query' | 'extraSegment' | 'dotdot' | 'encodedSlash' | 'long' | 'absolute' | 'rawLatin1';
const pathMutArb = fc.oneof(
  { weight: 14, arbitrary: fc.constant<PathMut>('exact') },
  { weight: 1, arbitrary: fc.constant<PathMut>('query') },
  { weight: 3, arbitrary: fc.constantFrom<PathMut>('trailingSlash', 'doubleSlash', 'upper', 'matrix', 'extraSegment', 'dotdot', 'encodedSlash', 'long', 'absolute', 'rawLatin1') },
);
const queryArb = fc.oneof(
  fc.constantFrom('?', '?a=1&a=2', '?limit=0', '?limit=501', '?limit=1.5', '?limit=abc', '?limit=1e2', '?limit=-1', '?limit=', '?status=failed&status=done', '?status=pending', '?status=x',
    '?verify=chain', '?verify=no', '?verify=chain&verify=chain', '?type=mint', '?type=' + 'x'.repeat(41), '?state=awaitingJournal', '?needs_operator=true', '?needs_operator=yes', '?needs_operator=true&needs_operator=false',
    '?%ZZ=%ZZ', '?__proto__=1', '?limit[]=1', '?state=' + '%F0%9F%98%80'.repeat(5)),
  fc.string({ unit: fc.constantFrom(...ID_CHARS, '=', '&', '%', '+'), maxLength: 40 }).map((q) => `?${q}`),
);

/** Percent-encodes what is not visible ASCII, so the request line is valid HTTP/1.1. `%ZZ` and friends stay raw. */
function asciiPath(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

function mutatePath(path: string, mut: PathMut, query: string): string {
  switch (mut) {
    case 'exact': return path;
    case 'query': return path + query;
    case 'trailingSlash': return `${path}/`;
    case 'doubleSlash': return path.replace(/^\//, '//');
    case 'upper': return path.toUpperCase();
    case 'matrix': return `${path};jsessionid=1`;
    case 'extraSegment': return `${path}/extra`;
    case 'dotdot': return `/x/..${path}`;
    case 'encodedSlash': return path.lastIndexOf('/') > 0 ? path.replace(/\/([^/]*)$/, '%2F$1') : `${path}%2F`;
    case 'long': return `${path}/${'a'.repeat(4000)}`;
    case 'absolute': return `http://issuer.example${path}`;
    // Not valid in a request line: Node's parser refuses it before Koa (the server answers that too).
    case 'rawLatin1': return `${path}/\u00e9\u00ff`;
  }
}

// Credentials -----------------------------------------------------------------------------------

type CredSpec =
  | { t: 'valid' } | { t: 'missing' } | { t: 'empty' } | { t: 'junk'; v: string } | { t: 'otherSecret' } | { t: 'wrongHeader' }
  | { t: 'prefix' } | { t: 'caseFlip' } | { t: 'duplicate' } | { t: 'padded' } | { t: 'both' } | { t: 'scheme'; scheme: string };
const credArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant<CredSpec>({ t: 'valid' }) },
  { weight: 2, arbitrary: fc.constant<CredSpec>({ t: 'missing' }) },
  { weight: 1, arbitrary: fc.constant<CredSpec>({ t: 'empty' }) },
  { weight: 2, arbitrary: headerTextArb.filter((v) => v.trim().length > 0).map((v): CredSpec => ({ t: 'junk', v })) },
  { weight: 1, arbitrary: fc.constantFrom<CredSpec>({ t: 'otherSecret' }, { t: 'wrongHeader' }, { t: 'prefix' }, { t: 'caseFlip' }, { t: 'duplicate' }, { t: 'padded' }, { t: 'both' }) },
  { weight: 1, arbitrary: fc.constantFrom('Basic', 'bearer', 'BEARER', 'Token', 'Bearer:', 'Bearer\t', '', 'Bearer Bearer').map((scheme): CredSpec => ({ t: 'scheme', scheme })) },
);

// Endpoints -------------------------------------------------------------------------------------

type BodyKind = 'mint' | 'confirm' | 'connect' | 'registerAp' | 'wallets' | 'addAsset' | 'patchAsset' | 'halt' | 'event' | 'none';
interface Endpoint {
  name: string;
  method: string;
  path: Array<string | Ref>;
  realm: Realm;
  body: BodyKind;
}

const flowTargetArb: fc.Arbitrary<string | Ref> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(40).map((i) => new Ref('overdueTrid', i)) },
  { weight: 3, arbitrary: fc.nat(200).map((i) => new Ref('flowId', i)) },
  { weight: 1, arbitrary: fc.uuid().map((u) => `mint:${u}`) },
  { weight: 1, arbitrary: fc.constantFrom('mint:', 'redemption:base:0x1:0', 'ap:', 'asset:', '%ZZ', '%E0%A4%A', '..', 'mint%3A', '\u00e9'.normalize(), '_') },
  { weight: 1, arbitrary: idArb },
);
const assetTargetArb: fc.Arbitrary<string | Ref> = fc.oneof(
  { weight: 5, arbitrary: fc.nat(3).map((i) => new Ref('sacAssetId', i)) },
  { weight: 1, arbitrary: fc.ulid() },
  { weight: 1, arbitrary: fc.constantFrom('%ZZ', '..', 'null', '0', 'a'.repeat(300), '%00') },
);
const apTargetArb: fc.Arbitrary<string | Ref> = fc.oneof(
  { weight: 5, arbitrary: fc.nat(3).map((i) => new Ref('sacApId', i)) },
  { weight: 1, arbitrary: fc.ulid() },
  { weight: 1, arbitrary: fc.constantFrom('%ZZ', '..', 'null', '%00') },
);

const ENDPOINT_NAMES = [
  'POST /tokenization/accounts/connect', 'POST /accounts/connect', 'GET /tokenization/tokens', 'GET /tokenized-assets', 'POST /tokenization/mint', 'POST /inkind/issuance',
  'POST /tokenization/mint/confirm', 'POST /inkind/issuance/confirm', 'GET /operator/aps', 'POST /operator/aps', 'PUT /operator/aps/:apId/wallets', 'GET /operator/assets',
  'POST /operator/assets', 'PATCH /operator/assets/:id', 'POST /operator/assets/:id/enable', 'POST /operator/assets/:id/disable', 'POST /operator/assets/:id/halt',
  'POST /operator/assets/:id/resume', 'GET /operator/flows', 'GET /operator/flows/:flowId', 'POST /operator/flows/:flowId/events', 'GET /operator/outbox',
  'GET /operator/receipts', 'GET /health/live', 'GET /health/ready',
];

function endpointArb(): fc.Arbitrary<Endpoint> {
  const alpaca: Endpoint[] = [
    { name: 'POST /tokenization/accounts/connect', method: 'POST', path: ['/tokenization/accounts/connect'], realm: 'alpaca', body: 'connect' },
    { name: 'POST /accounts/connect', method: 'POST', path: ['/accounts/connect'], realm: 'alpaca', body: 'connect' },
    { name: 'GET /tokenization/tokens', method: 'GET', path: ['/tokenization/tokens'], realm: 'alpaca', body: 'none' },
    { name: 'GET /tokenized-assets', method: 'GET', path: ['/tokenized-assets'], realm: 'alpaca', body: 'none' },
    { name: 'POST /tokenization/mint', method: 'POST', path: ['/tokenization/mint'], realm: 'alpaca', body: 'mint' },
    { name: 'POST /inkind/issuance', method: 'POST', path: ['/inkind/issuance'], realm: 'alpaca', body: 'mint' },
    { name: 'POST /tokenization/mint/confirm', method: 'POST', path: ['/tokenization/mint/confirm'], realm: 'alpaca', body: 'confirm' },
    { name: 'POST /inkind/issuance/confirm', method: 'POST', path: ['/inkind/issuance/confirm'], realm: 'alpaca', body: 'confirm' },
  ];
  const operatorStatic: Endpoint[] = [
    { name: 'GET /operator/aps', method: 'GET', path: ['/operator/aps'], realm: 'operator', body: 'none' },
    { name: 'POST /operator/aps', method: 'POST', path: ['/operator/aps'], realm: 'operator', body: 'registerAp' },
    { name: 'GET /operator/assets', method: 'GET', path: ['/operator/assets'], realm: 'operator', body: 'none' },
    { name: 'POST /operator/assets', method: 'POST', path: ['/operator/assets'], realm: 'operator', body: 'addAsset' },
    { name: 'GET /operator/flows', method: 'GET', path: ['/operator/flows'], realm: 'operator', body: 'none' },
    { name: 'GET /operator/outbox', method: 'GET', path: ['/operator/outbox'], realm: 'operator', body: 'none' },
    { name: 'GET /operator/receipts', method: 'GET', path: ['/operator/receipts'], realm: 'operator', body: 'none' },
  ];
  const operatorParam: fc.Arbitrary<Endpoint> = fc.oneof(
    apTargetArb.map((id): Endpoint => ({ name: 'PUT /operator/aps/:apId/wallets', method: 'PUT', path: ['/operator/aps/', id, '/wallets'], realm: 'operator', body: 'wallets' })),
    assetTargetArb.map((id): Endpoint => ({ name: 'PATCH /operator/assets/:id', method: 'PATCH', path: ['/operator/assets/', id], realm: 'operator', body: 'patchAsset' })),
    fc.tuple(assetTargetArb, fc.constantFrom('enable', 'disable', 'halt', 'resume')).map(([id, action]): Endpoint => ({ name: `POST /operator/assets/:id/${action}`, method: 'POST', path: ['/operator/assets/', id, `/${action}`], realm: 'operator', body: action === 'halt' ? 'halt' : 'none' })),
    flowTargetArb.map((id): Endpoint => ({ name: 'GET /operator/flows/:flowId', method: 'GET', path: ['/operator/flows/', id], realm: 'operator', body: 'none' })),
    { weight: 4, arbitrary: flowTargetArb.map((id): Endpoint => ({ name: 'POST /operator/flows/:flowId/events', method: 'POST', path: ['/operator/flows/', id, '/events'], realm: 'operator', body: 'event' })) },
  );
  const health: Endpoint[] = [
    { name: 'GET /health/live', method: 'GET', path: ['/health/live'], realm: 'health', body: 'none' },
    { name: 'GET /health/ready', method: 'GET', path: ['/health/ready'], realm: 'health', body: 'none' },
  ];
  const unknown: fc.Arbitrary<Endpoint> = fc
    .constantFrom('/', '/operator', '/operator/', '/tokenization', '/tokenization/mint/confirm/x', '/health', '/favicon.ico', '/admin', '/operator/flows/a/b/c', '/inkind', '*', '/tokenization/redeem', '/%ZZ', '/\u00e9')
    .map((p): Endpoint => ({ name: `unknown ${p}`, method: 'GET', path: [p], realm: p.startsWith('/operator') ? 'operator' : 'none', body: 'mint' }));
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...alpaca) },
    { weight: 4, arbitrary: fc.constantFrom(...operatorStatic) },
    { weight: 6, arbitrary: operatorParam },
    { weight: 1, arbitrary: fc.constantFrom(...health) },
    { weight: 1, arbitrary: unknown },
  );
}

// Shaped bodies: a plausible body for the endpoint, then mutated ---------------------------------

const validMintTemplate = (over: Record<string, J> = {}): Obj =>
  obj({
    tokenization_request_id: new Ref('freshTrid'),
    qty: '1',
    underlying_symbol: 'AAPL',
    token_symbol: 'tAAPL',
    network: 'base',
    wallet_address: new Ref('apWallet'),
    client_external_account_id: new Ref('apId'),
    ...over,
  });

function shapedArb(kind: BodyKind): fc.Arbitrary<J> {
  const mutated = (template: fc.Arbitrary<Obj>, fields: Record<string, fc.Arbitrary<J>>) =>
    fc.oneof(
      { weight: 1, arbitrary: template },
      { weight: 5, arbitrary: fc.tuple(template, mutationsArb(Object.keys(fields), fields)).map(([t, m]) => applyMutations(t, m)) },
    );
  switch (kind) {
    case 'mint':
    case 'none':
      return mutated(
        fc.tuple(validQtyArb, fc.oneof(fc.constant<J>(new Ref('freshTrid')), fc.nat(50).map((i) => new Ref('mintTrid', i)))).map(([qty, trid]) => validMintTemplate({ qty, tokenization_request_id: trid })),
        {
          tokenization_request_id: badIdArb, id: badIdArb, qty: badQtyArb, underlying_symbol: badSymbolArb, token_symbol: badSymbolArb, network: badNetworkArb,
          wallet_address: badWalletArb, client_external_account_id: badClientArb, client_account_id: badClientArb, client_id: badClientArb,
        },
      );
    case 'confirm':
      return mutated(
        fc.tuple(fc.nat(60), fc.nat(60), fc.constantFrom('completed', 'rejected')).map(([i, j, status]) =>
          obj({ tokenization_request_id: new Ref('mintTrid', i), issuer_request_id: new Ref('mintIrid', j), status }),
        ),
        {
          tokenization_request_id: badIdArb, id: badIdArb, issuer_request_id: fc.oneof(badIdArb, fc.nat(60).map((i) => new Ref('mintIrid', i))),
          status: fc.oneof(fc.constantFrom<J>('COMPLETED', 'complete', 'done', 'pending', 'canceled', ' completed', ''), hostileArb),
          client_external_account_id: badClientArb, client_account_id: badClientArb, client_id: badClientArb, client_request_id: hostileArb,
        },
      );
    case 'connect':
      return mutated(
        fc.constantFrom(
          obj({ email: new Ref('apEmail'), client_account_number: new Ref('apAccount') }),
          obj({ email: new Ref('sacApEmail', 0), client_account_number: new Ref('freshAccount') }),
          obj({ email: new Ref('sacApEmail', 1), account: new Ref('freshAccount') }),
          obj({ email: 'nobody@ap.example', client_account_number: 'X' }),
        ),
        {
          email: fc.oneof(fc.constantFrom<J>('not-an-email', '@', 'a@b', `${AP_EMAIL} `, AP_EMAIL.toUpperCase(), 'a'.repeat(320) + '@x.io', '\u00e9@\u00e9.fr'), hostileArb),
          client_account_number: fc.oneof(badIdArb, fc.constant(new Ref('apAccount'))), account: fc.oneof(badIdArb, fc.constant(new Ref('apAccount'))),
        },
      );
    case 'registerAp':
      return mutated(
        fc.constant(obj({ email: new Ref('freshEmail'), name: 'Fuzz Desk', wallets: [obj({ network: 'base', address: new Ref('freshAddress') })] })),
        {
          email: fc.oneof(fc.constant<J>(new Ref('apEmail')), fc.constantFrom<J>('x', AP_EMAIL.toUpperCase(), '')),
          name: hostileArb,
          wallets: fc.oneof(
            fc.constant<J>([obj({ network: 'base', address: new Ref('apWallet') })]),
            fc.constant<J>([obj({ network: 'solana', address: '7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV' })]),
            fc.tuple(badNetworkArb, badWalletArb).map(([network, address]) => [obj({ network, address })]),
            fc.constant<J>(obj({ network: 'base', address: new Ref('freshAddress') })),
            fc.constant<J>(Array.from({ length: 101 }, () => obj({ network: 'base', address: new Ref('freshAddress') }))),
            fc.constant<J>([obj({ network: 'base', address: new Ref('freshAddress'), extra: 1 })]),
            hostileArb,
          ),
        },
      );
    case 'wallets':
      return mutated(
        fc.constant(obj({ wallets: [obj({ network: 'base', address: new Ref('freshAddress') })] })),
        {
          wallets: fc.oneof(
            fc.constant<J>([obj({ network: 'base', address: new Ref('apWallet') })]),
            fc.constant<J>([obj({ network: 'base', address: new Ref('apWalletUpper') })]),
            fc.constant<J>([obj({ network: 'base', address: new Ref('sacWallet', 1) })]),
            fc.tuple(badNetworkArb, badWalletArb).map(([network, address]) => [obj({ network, address })]),
            fc.constant<J>([]),
            hostileArb,
          ),
        },
      );
    case 'addAsset':
      return mutated(
        fc.constant(obj({ underlying_symbol: 'FZ', token_symbol: new Ref('freshSymbol'), network: 'base', vault_address: new Ref('freshAddress'), decimals: 18 })),
        {
          underlying_symbol: badSymbolArb, token_symbol: fc.oneof(fc.constantFrom<J>('tAAPL', 'tFUZZA'), badSymbolArb), network: badNetworkArb, vault_address: badWalletArb,
          decimals: fc.oneof(fc.constantFrom<J>(37, -1, 1.5, '18', 36, 0), rawNumberArb, hostileArb), enabled: fc.oneof(fc.constantFrom<J>('true', 1, null), hostileArb),
        },
      );
    case 'patchAsset': {
      // Valid changes (some of them onto a (token_symbol, network) another asset already has), and broken ones.
      const validChange = fc
        .record(
          {
            underlying_symbol: fc.constantFrom<J>('FZ', 'AAPL', 'FUZZA'),
            token_symbol: fc.oneof(fc.constantFrom<J>('tAAPL', 'tFUZZA', 'tFUZZB'), fc.constant<J>(new Ref('freshSymbol'))),
            vault_address: fc.constant<J>(new Ref('freshAddress')),
            decimals: fc.integer({ min: 0, max: 36 }),
          },
          { requiredKeys: [] },
        )
        .map((r) => obj(r as Record<string, J>));
      const brokenChange = fc
        .record(
          { underlying_symbol: badSymbolArb, token_symbol: badSymbolArb, vault_address: badWalletArb, decimals: fc.oneof(fc.constantFrom<J>(37, -1, 1.5, '6'), rawNumberArb, hostileArb) },
          { requiredKeys: [] },
        )
        .map((r) => obj(r as Record<string, J>));
      return fc.oneof(
        { weight: 4, arbitrary: validChange },
        { weight: 4, arbitrary: brokenChange },
        { weight: 1, arbitrary: fc.constant<J>(obj({})) },
        { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), hostileArb).map(([k, v]) => obj({ token_symbol: 'tX', [k]: v })) },
      );
    }
    case 'halt':
      return mutated(fc.constant(obj({ reason: 'fuzz halt' })), { reason: fc.oneof(fc.constantFrom<J>('', 'r'.repeat(501)), hostileArb) });
    case 'event': {
      // Operator events accept unknown extra fields (passthrough): those get deep and hostile values.
      const template = fc
        .tuple(
          fc.oneof({ weight: 3, arbitrary: fc.constant<J>('OPERATOR_CLOSE') }, { weight: 2, arbitrary: fc.constantFrom<J>('OPERATOR_RETRY_MINT', 'OPERATOR_RETRY_CALLBACK', 'OPERATOR_RETURN_TO_SENDER', 'OPERATOR_RETRY') }),
          fc.option(fc.string({ maxLength: 50 }), { nil: undefined, freq: 2 }),
          fc.array(fc.tuple(fc.constantFrom('extra', 'payload', 'context', 'snapshot', '__proto__', 'status', 'output'), fc.oneof({ weight: 2, arbitrary: deepArb() }, hostileLeafArb, hostileArb)), { maxLength: 2 }),
        )
        .map(([type, note, extras]) => new Obj([['type', type], ...(note === undefined ? [] : [['note', note] as const]), ...extras]));
      const fields: Record<string, fc.Arbitrary<J>> = {
        type: fc.oneof(fc.constantFrom<J>('JOURNAL_CONFIRMED', 'JOURNAL_REJECTED', 'operator_close', 'OPERATOR_', 'OPERATOR_CLOSE ', 'xstate.init', 'OPERATOR_CLOSE\n', ''), hostileArb),
        note: fc.oneof(fc.constant<J>('n'.repeat(1001)), hostileArb),
      };
      return fc.oneof({ weight: 2, arbitrary: template }, { weight: 1, arbitrary: fc.tuple(template, mutationsArb(Object.keys(fields), fields)).map(([t, m]) => applyMutations(t, m)) });
    }
  }
}

// Scenario specs (pure data produced by fast-check; turned into steps at run time) ---------------

interface FuzzSpec {
  k: 'fuzz';
  ep: Endpoint;
  method: string;
  pathMut: PathMut;
  query: string;
  cred: CredSpec;
  ct: string | undefined;
  body: BodySpec;
  extraHeaders: Array<[string, string]>;
  burst: number;
}
interface ValidMintSpec {
  trid: string;
  qty: string;
  seedsPath: boolean;
  legacyId: boolean;
  client: 'external' | 'legacy' | 'account';
  wallet: 'lower' | 'checksum' | 'upper';
  extra: Array<[string, J]>;
}
type Spec =
  | FuzzSpec
  | { k: 'validMint'; m: ValidMintSpec; burst: number }
  | { k: 'validRepeat'; index: number; burst: number }
  | { k: 'validConfirm'; index: number; completed: boolean; seedsPath: boolean; legacyId: boolean; repeat: boolean; burst: number }
  | { k: 'validRead'; which: number; head: boolean }
  | { k: 'outOfOrder'; m: ValidMintSpec; wrongIrid: string; junkStatus: J; completed: boolean; otherQty: string }
  | { k: 'haltedMint'; m: ValidMintSpec };

const validMintSpecArb: fc.Arbitrary<ValidMintSpec> = fc.record({
  trid: fc.oneof(fc.uuid(), idArb),
  qty: validQtyArb,
  seedsPath: fc.boolean(),
  legacyId: fc.boolean(),
  client: fc.constantFrom<'external' | 'legacy' | 'account'>('external', 'legacy', 'account'),
  wallet: fc.constantFrom<'lower' | 'checksum' | 'upper'>('lower', 'checksum', 'upper'),
  extra: fc.array(fc.tuple(fc.constantFrom('client_request_id', 'memo', 'issuer', 'created_at', 'fees', 'x_new_field'), hostileLeafArb), { maxLength: 2 }),
});

/**
 * Which layers of a request are broken: mostly one at a time (so the others let it reach deeper
 * code: a valid key with a broken body, a valid body with a broken key, …), sometimes several.
 */
type Dim = 'cred' | 'method' | 'path' | 'ct' | 'body' | 'headers';
const ALL_DIMS: Dim[] = ['cred', 'method', 'path', 'ct', 'body', 'headers'];
const dimsArb: fc.Arbitrary<Dim[]> = fc.oneof(
  { weight: 7, arbitrary: fc.constantFrom<Dim[]>([], ['cred'], ['method'], ['path'], ['ct'], ['body'], ['body'], ['body'], ['headers']) },
  { weight: 3, arbitrary: fc.subarray(ALL_DIMS, { minLength: 2, maxLength: 4 }) },
);
const extraHeadersArb: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('x-request-id', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for', 'accept', 'accept-encoding', 'signature-input', 'signature', 'content-digest', 'idempotency-key', 'x-fuzz'), headerTextArb),
    fc.constantFrom<[string, string]>(['x-request-id', 'a'.repeat(101)], ['accept', 'application/xml'], ['signature-input', 'sig=("@method");keyid="x"'], ['signature', 'sig=:AAAA:'], ['content-encoding', 'gzip'], ['expect', '100-continue']),
  ),
  { minLength: 1, maxLength: 3 },
);

const fuzzSpecArb: fc.Arbitrary<FuzzSpec> = fc.tuple(endpointArb(), dimsArb).chain(([ep, dims]) => {
  const broken = (d: Dim) => dims.includes(d);
  const shapedBody = ep.body === 'none' ? fc.constant<BodySpec>({ t: 'none' }) : shapedArb(ep.body).map((value): BodySpec => ({ t: 'json', value }));
  return fc.record({
    k: fc.constant<'fuzz'>('fuzz'),
    ep: fc.constant(ep),
    method: broken('method') ? methodArb(ep.method).filter((m) => m !== ep.method) : fc.constant(ep.method),
    pathMut: broken('path') ? pathMutArb.filter((m) => m !== 'exact') : fc.constant<PathMut>('exact'),
    query: queryArb,
    cred: broken('cred') ? credArb.filter((c) => c.t !== 'valid') : fc.constant<CredSpec>({ t: 'valid' }),
    ct: broken('ct') ? contentTypeArb.filter((c) => c !== 'application/json') : fc.constant<string | undefined>('application/json'),
    body: broken('body') ? bodyArb(shapedArb(ep.body === 'none' ? 'mint' : ep.body), true) : shapedBody,
    extraHeaders: broken('headers') ? extraHeadersArb : fc.constant<Array<[string, string]>>([]),
    burst: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  });
});

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 70, arbitrary: fuzzSpecArb },
  { weight: 8, arbitrary: fc.tuple(validMintSpecArb, fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) })).map(([m, burst]): Spec => ({ k: 'validMint', m, burst })) },
  { weight: 3, arbitrary: fc.tuple(fc.nat(1000), fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) })).map(([index, burst]): Spec => ({ k: 'validRepeat', index, burst })) },
  { weight: 4, arbitrary: fc.record({ index: fc.nat(1000), completed: fc.boolean(), seedsPath: fc.boolean(), legacyId: fc.boolean(), repeat: fc.boolean(), burst: fc.constantFrom(1, 1, 1, 2, 3) }).map((r): Spec => ({ k: 'validConfirm', ...r })) },
  { weight: 4, arbitrary: fc.record({ which: fc.nat(20), head: fc.boolean() }).map((r): Spec => ({ k: 'validRead', ...r })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ m: validMintSpecArb, wrongIrid: fc.uuid(), junkStatus: fc.oneof(fc.constantFrom<J>('done', 'COMPLETED', null, 1), hostileLeafArb), completed: fc.boolean(), otherQty: validQtyArb })
      .map((r): Spec => ({ k: 'outOfOrder', ...r })),
  },
  { weight: 1, arbitrary: validMintSpecArb.map((m): Spec => ({ k: 'haltedMint', m })) },
);

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

describe('HTTP fuzz: every endpoint under malformed, hostile, duplicated and out-of-order requests', function () {
  this.timeout(180_000);

  let env: MintEnv;
  let secrets: Array<[string, string]> = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const state: RunState = { mints: [], overdue: [], sacAssets: [], sacAps: [], counter: 0, completedConfirms: 0 };
  const violations: Violation[] = [];
  const histogram: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const detailed: Record<string, number> = {};
  const endpointHits: Record<string, number> = {};
  let cases = 0;
  let validSent = 0;
  let validAccepted = 0;
  let scenarios = 0;
  let elapsedMs = 0;
  let finalReady: Res | undefined;

  // ---- HTTP ----------------------------------------------------------------------------------

  const socketHistory: Record<number, string[]> = {};
  function send(req: Req, timeoutMs = 15_000, via: http.Agent = agent): Promise<Res> {
    const u = new URL(env.svc.url);
    return new Promise<Res>((resolve, reject) => {
      const headers = { ...req.headers };
      if (req.body && req.chunked) headers['transfer-encoding'] = 'chunked';
      else if (req.body) headers['content-length'] = String(req.body.length);
      const r = http.request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers, agent: via }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      // FUZZ_DEBUG: remember what each connection carried, to explain a reset by what came before it.
      if (process.env.FUZZ_DEBUG) r.on('socket', (sock) => {
        const tag = () => {
          const hist = (socketHistory[sock.localPort ?? 0] ??= []);
          hist.push(repro(req).slice(0, 300));
          (r as any).fuzzPort = sock.localPort;
        };
        if (sock.localPort) tag();
        else sock.once('connect', tag);
      });
      r.on('error', (err) => reject(Object.assign(err, { history: (socketHistory[(r as any).fuzzPort ?? 0] ?? []).slice(-4) })));
      if (!req.body) return void r.end();
      if (!req.chunked) return void r.end(req.body);
      for (let i = 0; i < req.body.length; i += 16_384) r.write(req.body.subarray(i, i + 16_384));
      r.end();
    });
  }

  // ---- references ----------------------------------------------------------------------------

  const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
  const fresh = () => ++state.counter;
  const derivedHex = (n: number, len = 40) => crypto.createHash('sha256').update(`${SEED}:${n}`).digest('hex').slice(0, len);
  const checksum = (address: string) => getAddress(address);

  function resolveRef(ref: Ref): J {
    switch (ref.name) {
      case 'apId': return env.apId;
      case 'apEmail': return AP_EMAIL;
      case 'apAccount': return AP_ACCOUNT;
      case 'apWallet': return env.apWallet;
      case 'apWalletUpper': return '0x' + env.apWallet.slice(2).toUpperCase();
      case 'sacAssetId': return pick(state.sacAssets, ref.index) ?? 'none';
      case 'sacApId': return pick(state.sacAps, ref.index)?.apId ?? 'none';
      case 'sacApEmail': return pick(state.sacAps, ref.index)?.email ?? 'none@ap.example';
      case 'sacWallet': return pick(state.sacAps, ref.index)?.wallet ?? '0x' + '00'.repeat(20);
      case 'mintTrid': return pick(state.mints, ref.index)?.trid ?? crypto.randomUUID();
      case 'mintIrid': return pick(state.mints, ref.index)?.irid ?? crypto.randomUUID();
      case 'overdueTrid': return `mint:${pick(state.overdue, ref.index) ?? 'none'}`;
      case 'flowId': return `mint:${pick(state.mints, ref.index)?.trid ?? 'none'}`;
      case 'freshTrid': return `fz-${SEED}-${fresh()}`;
      case 'freshEmail': return `fuzz-${SEED}-${fresh()}@ap.example`;
      case 'freshSymbol': return `tF${fresh()}`;
      case 'freshAddress': return '0x' + derivedHex(fresh());
      case 'freshAccount': return `FZ-ACC-${SEED}-${fresh()}`;
    }
  }

  function emit(v: J): string {
    if (v === null || typeof v === 'boolean') return JSON.stringify(v);
    if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    if (v instanceof Raw) return v.text;
    if (v instanceof Ref) return emit(resolveRef(v));
    if (v instanceof Deep) {
      const leaf = emit(v.leaf);
      return v.kind === 'array' ? '['.repeat(v.depth) + leaf + ']'.repeat(v.depth) : '{"a":'.repeat(v.depth) + leaf + '}'.repeat(v.depth);
    }
    if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${emit(x)}`).join(',')}}`;
    return `[${v.map(emit).join(',')}]`;
  }

  function bodyBytes(spec: BodySpec): { body?: Buffer; chunked?: boolean } {
    switch (spec.t) {
      case 'none': return {};
      case 'empty': return { body: Buffer.alloc(0) };
      case 'text': return { body: Buffer.from(spec.text, 'utf8') };
      case 'bytes': return { body: Buffer.from(spec.bytes) };
      case 'json': {
        let text = `${spec.prefix ?? ''}${emit(spec.value)}${spec.suffix ?? ''}`;
        if (spec.truncate !== undefined) text = text.slice(0, Math.floor(text.length * spec.truncate));
        let buf = Buffer.from(text, 'utf8');
        if (spec.badUtf8) {
          // Prefer the inside of a string literal, where a lenient decoder would smuggle U+FFFD into a value.
          const quotes = [...text.matchAll(/"/g)].map((m) => Buffer.byteLength(text.slice(0, m.index! + 1)));
          const at = quotes.length ? quotes[Math.floor(spec.badUtf8.at * quotes.length)]! : Math.floor(spec.badUtf8.at * buf.length);
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from(spec.badUtf8.bytes), buf.subarray(at)]);
        }
        return { body: buf };
      }
      case 'oversized': {
        const base = emit(spec.value);
        const inner = base.startsWith('{') && base.length > 2 ? base.slice(1, -1) + ',' : '';
        const shell = `{${inner}"padding":""}`;
        const pad = Math.max(0, spec.size - Buffer.byteLength(shell));
        const text = `{${inner}"padding":"${'x'.repeat(pad)}"}`;
        return { body: Buffer.from(text, 'utf8'), chunked: spec.chunked };
      }
    }
  }

  function credHeaders(realm: Realm, cred: CredSpec): { headers: Record<string, string | string[]>; cls: CredClass } {
    // The realm's own credential and header, and the other realm's secret (never accepted here).
    const own = realm === 'operator' ? env.operatorToken : env.apiKey;
    const other = realm === 'operator' ? env.apiKey : env.operatorToken;
    const put = (value: string | string[]): Record<string, string | string[]> =>
      realm === 'operator' ? { authorization: Array.isArray(value) ? value.map((v) => `Bearer ${v}`) : `Bearer ${value}` } : { 'x-api-key': value };
    switch (cred.t) {
      case 'valid': return { headers: put(own), cls: 'valid' };
      case 'missing': return { headers: {}, cls: 'invalid' };
      case 'empty': return { headers: realm === 'operator' ? { authorization: '' } : { 'x-api-key': '' }, cls: 'invalid' };
      case 'junk': return { headers: put(cred.v), cls: cred.v.trim() === own ? 'ambiguous' : 'invalid' };
      case 'otherSecret': return { headers: put(other), cls: 'invalid' };
      case 'wrongHeader': return { headers: realm === 'operator' ? { 'x-api-key': own } : { authorization: `Bearer ${own}` }, cls: 'invalid' };
      case 'prefix': return { headers: put(own.slice(0, -1)), cls: 'invalid' };
      case 'caseFlip': return { headers: put(own.toUpperCase()), cls: own.toUpperCase() === own ? 'valid' : 'invalid' };
      case 'duplicate': return { headers: put([own, own]), cls: 'ambiguous' };
      case 'padded': return { headers: put(` ${own}  `), cls: 'ambiguous' };
      case 'both': return { headers: { 'x-api-key': env.apiKey, authorization: `Bearer ${env.operatorToken}` }, cls: 'valid' };
      // Another scheme, or the bearer scheme spelt differently (the operator token is case-insensitive on the scheme).
      case 'scheme': return { headers: { authorization: `${cred.scheme} ${realm === 'operator' ? own : other}` }, cls: realm === 'operator' && /^bearer$/i.test(cred.scheme) ? 'ambiguous' : 'invalid' };
    }
  }

  const alpacaHeaders = (): Record<string, string> => ({ 'x-api-key': env.apiKey, 'content-type': 'application/json' });
  const operatorHeaders = (): Record<string, string> => ({ authorization: `Bearer ${env.operatorToken}`, 'content-type': 'application/json' });

  // ---- valid mint bodies ---------------------------------------------------------------------

  function validMintBody(m: ValidMintSpec, trid: string, qty = m.qty): Buffer {
    const wallet = m.wallet === 'lower' ? env.apWallet : m.wallet === 'upper' ? '0x' + env.apWallet.slice(2).toUpperCase() : checksum(env.apWallet);
    const entries: Array<[string, J]> = [
      [m.legacyId ? 'id' : 'tokenization_request_id', trid],
      ['qty', qty],
      ['underlying_symbol', 'AAPL'],
      ['token_symbol', 'tAAPL'],
      ['network', 'base'],
      ['wallet_address', wallet],
      m.client === 'external' ? ['client_external_account_id', env.apId] : m.client === 'legacy' ? ['client_id', env.apId] : ['client_account_id', AP_ACCOUNT],
      // Unknown extra fields are ignored (README); keep their names off the ones the schema knows.
      ...m.extra.map(([k, v]): [string, J] => [k, v]),
    ];
    return Buffer.from(emit(new Obj(entries)), 'utf8');
  }
  const uniqueTrid = (base: string) => `${base.slice(0, 60)}.${SEED}.${fresh()}`;
  const mintPath = (seeds: boolean) => (seeds ? '/inkind/issuance' : '/tokenization/mint');
  const confirmPath = (seeds: boolean) => (seeds ? '/inkind/issuance/confirm' : '/tokenization/mint/confirm');
  const IRID_RE = /^[0-9a-f-]{36}$/;

  function rememberMint(trid: string, body: Buffer, path: string, res: Res): void {
    if (res.status === 200 && typeof res.json?.issuer_request_id === 'string' && !state.mints.some((x) => x.trid === trid)) {
      state.mints.push({ trid, irid: res.json.issuer_request_id, body, path, pending: true });
    }
  }

  async function pendingMint(index: number): Promise<KnownMint | undefined> {
    const candidates = state.mints.filter((x) => x.pending);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(index + i) % candidates.length]!;
      const flow = await env.svc.host.get(`mint:${c.trid}`);
      if (flow?.state === 'awaitingJournal') return c;
      c.pending = false;
    }
    return undefined;
  }

  function confirmBody(trid: string, irid: string, status: J, legacyId = false): Buffer {
    return Buffer.from(emit(new Obj([[legacyId ? 'id' : 'tokenization_request_id', trid], ['issuer_request_id', irid], ['status', status]])), 'utf8');
  }

  const expectStatus = (status: number, code?: string) => (res: Res) =>
    res.status === status && (code === undefined || res.json?.code === code) ? undefined : `expected ${status}${code ? ` ${code}` : ''}, got ${res.status} ${res.text.slice(0, 160)}`;

  // ---- spec → steps --------------------------------------------------------------------------

  function stepsFor(spec: Spec): { kind: string; steps: Step[] } {
    switch (spec.k) {
      case 'fuzz': {
        const { ep } = spec;
        const realm: Realm = ep.realm === 'health' || ep.realm === 'none' ? 'none' : ep.realm;
        // Health and unknown paths need no credential: they get the Alpaca key variants (or none).
        const { headers: creds, cls } = credHeaders(realm === 'none' ? 'alpaca' : realm, spec.cred);
        const label = spec.method === ep.method && spec.pathMut === 'exact' ? ep.name : `${spec.method} ${ep.name.replace(/^\S+ /, '')} (${spec.pathMut})`;
        return {
          kind: `fuzz:${ep.realm}`,
          steps: [
            {
              label,
              valid: false,
              realm: ep.realm,
              cred: cls,
              burst: spec.burst,
              build: () => {
                endpointHits[ep.name] = (endpointHits[ep.name] ?? 0) + 1;
                const mutated = mutatePath(ep.path.map((p) => (typeof p === 'string' ? p : encodeURIComponent(String(resolveRef(p))))).join(''), spec.pathMut, spec.query);
                const path = spec.pathMut === 'rawLatin1' ? mutated : asciiPath(mutated);
                const headers: Record<string, string | string[]> = { ...creds };
                if (spec.ct !== undefined) headers['content-type'] = spec.ct;
                for (const [k, v] of spec.extraHeaders) headers[k] = v;
                return { method: spec.method, path, headers, ...bodyBytes(spec.body) };
              },
              after: (res, req) => {
                // A fuzzed request that happened to be a valid mint is remembered like any other.
                if (ep.body !== 'mint' || res.status !== 200 || !req.body) return;
                let parsed: any;
                try {
                  parsed = JSON.parse(req.body.toString('utf8'));
                } catch {
                  return;
                }
                const trid = parsed?.tokenization_request_id ?? parsed?.id;
                if (typeof trid === 'string') rememberMint(trid, Buffer.alloc(0), req.path, res);
              },
            },
          ],
        };
      }
      case 'validMint': {
        const trid = uniqueTrid(spec.m.trid);
        const body = validMintBody(spec.m, trid);
        const path = mintPath(spec.m.seedsPath);
        let first: string | undefined;
        return {
          kind: 'valid:mint',
          steps: [
            {
              label: `POST ${path} (valid)`,
              valid: true,
              realm: 'alpaca',
              cred: 'valid',
              burst: spec.burst,
              build: () => ({ method: 'POST', path, headers: alpacaHeaders(), body }),
              expect: (res) => {
                if (res.status !== 200 || res.json?.status !== 'created' || !IRID_RE.test(String(res.json?.issuer_request_id))) return `valid mint not accepted: ${res.status} ${res.text.slice(0, 200)}`;
                first ??= res.json.issuer_request_id;
                return first === res.json.issuer_request_id ? undefined : `duplicate of one request got another issuer_request_id (${first} vs ${res.json.issuer_request_id})`;
              },
              after: (res) => rememberMint(trid, body, path, res),
            },
          ],
        };
      }
      case 'validRepeat': {
        let known: KnownMint | undefined;
        return {
          kind: 'valid:repeat',
          steps: [
            {
              label: 'POST mint (valid repeat)',
              valid: true,
              realm: 'alpaca',
              cred: 'valid',
              burst: spec.burst,
              build: () => {
                const withBodies = state.mints.filter((x) => x.body.length > 0);
                known = pick(withBodies, spec.index);
                return known && { method: 'POST', path: known.path, headers: alpacaHeaders(), body: known.body };
              },
              expect: (res) => (res.status === 200 && res.json?.issuer_request_id === known!.irid ? undefined : `repeat of ${known!.trid} answered ${res.status} ${res.text.slice(0, 200)} (original ${known!.irid})`),
            },
          ],
        };
      }
      case 'validConfirm': {
        let target: KnownMint | undefined;
        let status: 'completed' | 'rejected' = 'rejected';
        const path = confirmPath(spec.seedsPath);
        const step = (repeat: boolean): Step => ({
          label: `POST ${path} (valid${repeat ? ' repeat' : ''})`,
          valid: true,
          realm: 'alpaca',
          cred: 'valid',
          // Delivered several times at once: every copy gets the same 200 (README), one journal entry.
          burst: repeat ? 1 : spec.burst,
          build: async () => {
            if (!repeat) {
              target = await pendingMint(spec.index);
              if (!target) return undefined;
              status = spec.completed && state.completedConfirms < MAX_COMPLETED_CONFIRMS ? 'completed' : 'rejected';
              if (status === 'completed') state.completedConfirms++;
            }
            if (!target) return undefined;
            return { method: 'POST', path, headers: alpacaHeaders(), body: confirmBody(target.trid, target.irid, status, spec.legacyId) };
          },
          expect: (res) =>
            res.status === 200 && res.json?.status === status && res.json?.issuer_request_id === target!.irid ? undefined : `valid confirm (${status}) of ${target!.trid} answered ${res.status} ${res.text.slice(0, 200)}`,
          after: () => {
            if (target) target.pending = false;
          },
        });
        return { kind: 'valid:confirm', steps: spec.repeat ? [step(false), step(true)] : [step(false)] };
      }
      case 'validRead': {
        const reads: Array<[string, Realm]> = [
          ['/tokenization/tokens', 'alpaca'], ['/tokenized-assets', 'alpaca'], ['/health/live', 'health'], ['/health/ready', 'health'], ['/operator/aps', 'operator'],
          ['/operator/assets', 'operator'], ['/operator/flows', 'operator'], ['/operator/flows?needs_operator=true', 'operator'], ['/operator/flows?type=mint&state=journalOverdue&limit=5', 'operator'],
          ['/operator/outbox', 'operator'], ['/operator/outbox?status=done', 'operator'], ['/operator/receipts', 'operator'], ['/operator/receipts?verify=chain', 'operator'], ['flow', 'operator'],
        ];
        const [p, realm] = reads[spec.which % reads.length]!;
        const method = spec.head ? 'HEAD' : 'GET';
        return {
          kind: 'valid:read',
          steps: [
            {
              label: `${method} ${p === 'flow' ? '/operator/flows/:flowId' : p} (valid)`,
              valid: true,
              realm,
              cred: 'valid',
              build: () => {
                const path = p === 'flow' ? `/operator/flows/${encodeURIComponent(`mint:${pick(state.mints, spec.which)?.trid ?? state.overdue[0]}`)}` : p;
                const headers = realm === 'alpaca' ? alpacaHeaders() : realm === 'operator' ? operatorHeaders() : {};
                return { method, path, headers };
              },
              expect: expectStatus(200),
            },
          ],
        };
      }
      case 'outOfOrder': {
        // Confirm before the request, the request, a confirm for the wrong issuer id, a junk status,
        // the real confirm, its repeat, the opposite status, and the same id with another body.
        const trid = uniqueTrid(spec.m.trid);
        const body = validMintBody(spec.m, trid);
        const path = mintPath(spec.m.seedsPath);
        const cpath = confirmPath(!spec.m.seedsPath);
        let irid = '';
        let status: 'completed' | 'rejected' = 'rejected';
        const step = (label: string, valid: boolean, build: () => Req | undefined, expect: (res: Res) => string | undefined, after?: (res: Res) => void): Step => ({ label, valid, realm: 'alpaca', cred: 'valid', build, expect, after });
        const needIrid = (b: () => Req) => () => (irid ? b() : undefined);
        return {
          kind: 'sequence:out-of-order',
          steps: [
            step(`POST ${cpath} (before the request)`, false, () => ({ method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, spec.wrongIrid, 'completed') }), expectStatus(404, 'tokenization_request_not_found')),
            step(`POST ${path} (valid)`, true, () => ({ method: 'POST', path, headers: alpacaHeaders(), body }), (res) => (res.status === 200 && IRID_RE.test(String(res.json?.issuer_request_id)) ? undefined : `valid mint not accepted: ${res.status} ${res.text.slice(0, 200)}`), (res) => {
              irid = res.status === 200 ? String(res.json?.issuer_request_id) : '';
              rememberMint(trid, body, path, res);
            }),
            step(`POST ${cpath} (wrong issuer_request_id)`, false, needIrid(() => ({ method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, spec.wrongIrid, 'completed') })), expectStatus(422, 'issuer_request_id_mismatch')),
            step(`POST ${cpath} (junk status)`, false, needIrid(() => ({ method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, irid, spec.junkStatus) })), expectStatus(400, 'invalid_payload')),
            step(`POST ${cpath} (valid)`, true, needIrid(() => {
              status = spec.completed && state.completedConfirms < MAX_COMPLETED_CONFIRMS ? 'completed' : 'rejected';
              if (status === 'completed') state.completedConfirms++;
              return { method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, irid, status) };
            }), (res) => (res.status === 200 && res.json?.status === status ? undefined : `valid confirm answered ${res.status} ${res.text.slice(0, 200)}`), () => {
              const k = state.mints.find((x) => x.trid === trid);
              if (k) k.pending = false;
            }),
            step(`POST ${cpath} (repeated confirm)`, true, needIrid(() => ({ method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, irid, status) })), (res) => (res.status === 200 && res.json?.status === status ? undefined : `repeated confirm answered ${res.status} ${res.text.slice(0, 200)}`)),
            step(`POST ${cpath} (opposite status)`, false, needIrid(() => ({ method: 'POST', path: cpath, headers: alpacaHeaders(), body: confirmBody(trid, irid, status === 'completed' ? 'rejected' : 'completed') })), expectStatus(409, 'journal_already_recorded')),
            step(`POST ${path} (same id, other body)`, false, needIrid(() => ({ method: 'POST', path, headers: alpacaHeaders(), body: validMintBody(spec.m, trid, spec.otherQty === spec.m.qty ? `${spec.m.qty}1` : spec.otherQty) })), (res) => {
              // qty "1" and "1.0" are different requests here: the hash covers the string as sent.
              return res.status === 409 && res.json?.code === 'tokenization_request_id_reused' ? undefined : `reused id answered ${res.status} ${res.text.slice(0, 200)}`;
            }),
          ],
        };
      }
      case 'haltedMint': {
        // Reaches the asset_halted branch on the fixture asset, then restores it.
        const trid = uniqueTrid(spec.m.trid);
        const body = validMintBody(spec.m, trid);
        const op = (action: 'halt' | 'resume'): Step => ({
          label: `POST /operator/assets/:id/${action} (valid)`,
          valid: true,
          realm: 'operator',
          cred: 'valid',
          build: () => ({ method: 'POST', path: `/operator/assets/${env.assetId}/${action}`, headers: operatorHeaders(), body: action === 'halt' ? Buffer.from('{"reason":"fuzz: corporate action"}') : undefined }),
          expect: expectStatus(200),
        });
        return {
          kind: 'sequence:halted-asset',
          steps: [
            op('halt'),
            { label: `POST ${mintPath(spec.m.seedsPath)} (asset halted)`, valid: false, realm: 'alpaca', cred: 'valid', build: () => ({ method: 'POST', path: mintPath(spec.m.seedsPath), headers: alpacaHeaders(), body }), expect: expectStatus(400, 'asset_halted') },
            op('resume'),
          ],
        };
      }
    }
  }

  // ---- checks --------------------------------------------------------------------------------

  async function journalMark(): Promise<{ n: number; pos: number }> {
    const [row] = await env.svc.db('journal').count({ n: '*' }).max({ pos: 'position' });
    return { n: Number(row?.n ?? 0), pos: Number(row?.pos ?? 0) };
  }

  /** Events no HTTP request can cause (durable timers); they may fire in a long run (FUZZ_RUNS large). */
  const TIMER_EVENTS = new Set(['JOURNAL_CONFIRMATION_TIMED_OUT']);

  async function journalWritesSince(before: { n: number; pos: number }): Promise<string[]> {
    const now = await journalMark();
    if (now.n === before.n) return [];
    const rows = await env.svc.db('journal').where('position', '>', before.pos).orderBy('position').select('flow_id', 'type');
    const caused = rows.filter((r: any) => !TIMER_EVENTS.has(r.type));
    return caused.length ? caused.map((r: any) => `${r.flow_id} ${r.type}`) : now.n - before.n === rows.length ? [] : [`row count ${before.n} → ${now.n}`];
  }

  /** Waits until no effect is pending and no timer is about to fire, so the next journal count is the request's own. */
  async function quiesce(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [o] = await env.svc.db('outbox').where({ status: 'pending' }).count({ n: '*' });
      const [t] = await env.svc.db('timers').where('due_at', '<=', env.clock.now() + 2_000).count({ n: '*' });
      if (Number(o?.n ?? 0) === 0 && Number(t?.n ?? 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`service did not settle: ${o?.n} pending effects, ${t?.n} due timers`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  function redact(s: string): string {
    let out = s;
    for (const [name, secret] of secrets) out = out.split(secret).join(`<${name}>`);
    return out;
  }

  function repro(req: Req): string {
    const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${redact(JSON.stringify(v)).slice(0, 80)}`).join('; ');
    const body = req.body ? `${req.body.length} bytes${req.chunked ? ' chunked' : ''}: ${JSON.stringify(redact(req.body.subarray(0, 240).toString('latin1')))}${req.body.length > 240 ? '…' : ''}` : 'no body';
    return `${req.method} ${req.path.length > 200 ? req.path.slice(0, 200) + '…' : req.path} [${headers}] ${body}`;
  }

  /** Tallies one answer (campaign only) and records what is wrong with it. */
  function tally(step: Step, req: Req, res: Res): void {
    const key = String(res.status);
    histogram[key] = (histogram[key] ?? 0) + 1;
    const dk = `${step.label} ${res.status} ${res.json?.code ?? ''}`;
    detailed[dk] = (detailed[dk] ?? 0) + 1;
    if (process.env.FUZZ_TRACE && dk.includes(process.env.FUZZ_TRACE)) console.log('TRACE', repro(req).slice(0, 400), '→', res.status, redact(res.text.slice(0, 300)));
    checkResponse(step, req, res);
  }

  function checkResponse(step: Step, req: Req, res: Res, into: Violation[] = violations): void {
    const v = (property: Violation['property'], detail: string) => into.push({ property, label: step.label, detail, repro: repro(req) });
    if (res.status >= 500) v('no_5xx', `${res.status} ${redact(res.text.slice(0, 200))}`);
    if (res.status >= 400 && res.status < 500 && req.method !== 'HEAD') {
      const ct = String(res.headers['content-type'] ?? '');
      const j = res.json;
      if (!ct.startsWith('application/json') || j === null || typeof j !== 'object' || Array.isArray(j)) v('error_shape', `${res.status} ${ct}: ${redact(res.text.slice(0, 160))}`);
      else if (typeof j.code !== 'string' || !CODE_RE.test(j.code) || typeof j.message !== 'string') v('error_shape', `${res.status} ${redact(res.text.slice(0, 160))}`);
    }
    const exposed = `${res.text}\n${Object.entries(res.headers).map(([k, x]) => `${k}: ${String(x)}`).join('\n')}`;
    for (const [name, secret] of secrets) if (exposed.includes(secret)) v('secret_leak', `${name} in a ${res.status} response: ${redact(exposed.slice(0, 200))}`);
    if ((step.realm === 'alpaca' || step.realm === 'operator') && step.cred === 'invalid' && res.status >= 200 && res.status < 300) {
      v('auth_bypass', `${res.status} without a valid ${step.realm} credential: ${redact(res.text.slice(0, 160))}`);
    }
    const problem = step.expect?.(res);
    if (problem) v('expectation', redact(problem));
  }

  const slow: Record<string, { n: number; ms: number }> = {};
  /** Confirming a stuck connection costs a timeout; three confirmations are enough to report it. */
  let poisonedConnections = 0;
  async function runStep(step: Step): Promise<void> {
    const t0 = Date.now();
    try {
      await runStepInner(step);
    } finally {
      const e = (slow[step.label] ??= { n: 0, ms: 0 });
      e.n++;
      e.ms += Date.now() - t0;
    }
  }

  async function runStepInner(step: Step): Promise<void> {
    const req = await step.build();
    if (!req) return;
    // A body over the limit goes on a connection of its own, which is then checked to still serve.
    const oversized = (req.body?.length ?? 0) > BODY_LIMIT;
    const via = oversized ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : agent;
    const n = oversized ? 1 : Math.max(1, step.burst ?? 1);
    const before = await journalMark();
    const settled = await Promise.allSettled(Array.from({ length: n }, () => send(req, 15_000, via)));
    if (oversized) {
      if (poisonedConnections < 3 && settled[0]?.status === 'fulfilled') {
        const next = await send({ method: 'GET', path: '/health/live', headers: {} }, 1_000, via).catch((err: Error) => err);
        if (next instanceof Error) {
          poisonedConnections++;
          const answered = settled[0].value;
          violations.push({ property: 'transport', label: step.label, detail: `answered ${answered.status} (connection: ${answered.headers.connection}) but the keep-alive connection then stopped serving: the next request on it (GET /health/live) failed with "${next.message}"`, repro: repro(req) });
        }
      }
      via.destroy();
    }
    cases += n;
    if (step.valid) validSent += n;
    const answers: Res[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') {
        const err = s.reason as NodeJS.ErrnoException;
        const hint = req.method === 'HEAD' && /^HPE_/.test(String(err?.code)) ? ' (the answer to a HEAD request carried a body, which no HTTP client can parse)' : '';
        violations.push({ property: 'transport', label: step.label, detail: `${err?.code ?? ''} ${err?.message ?? String(err)}${hint}`.trim(), repro: repro(req) });
        if (process.env.FUZZ_DEBUG) console.log('TRANSPORT', (s.reason as Error)?.message, '\n  ' + ((s.reason as any)?.history ?? []).join('\n  '));
        histogram.transport_error = (histogram.transport_error ?? 0) + 1;
        continue;
      }
      answers.push(s.value);
      if (step.valid && s.value.status >= 200 && s.value.status < 300) validAccepted++;
      tally(step, req, s.value);
    }
    const all4xx = answers.length === n && answers.every((a) => a.status >= 400 && a.status < 500);
    if (all4xx) {
      const writes = await journalWritesSince(before);
      if (writes.length) violations.push({ property: 'journal_write', label: step.label, detail: `answered ${answers.map((a) => a.status).join(',')} yet the journal grew: ${writes.slice(0, 5).join(', ')}`, repro: repro(req) });
    }
    for (const a of answers) await step.after?.(a, req);
    // A write that was not refused may have started effects (a mint on chain, a callback): let them finish.
    if (!all4xx && req.method !== 'GET' && req.method !== 'HEAD') await quiesce();
  }

  // ---- setup ---------------------------------------------------------------------------------

  before(async () => {
    env = await startMintEnv();
    secrets = [
      ['API_KEY', env.apiKey],
      ['OPERATOR_TOKEN', env.operatorToken],
      ['ALPACA_SECRET', env.config.alpaca!.secret!],
      ['KEYSTORE_PASSWORD', fs.readFileSync(env.chain.keystorePasswordFile, 'utf8').trim()],
    ];
    const issuer = await Wallet.fromEncryptedJson(fs.readFileSync(env.chain.keystoreFile, 'utf8'), secrets[3]![1]);
    secrets.push(['ISSUER_PRIVATE_KEY', issuer.privateKey.slice(2)]);
    for (const [name, s] of secrets) assert.ok(s && s.length >= 8, `secret ${name} is set`);

    // Sacrificial registry entries the fuzzer may mutate (the fixture asset and AP stay intact).
    for (const [i, sym] of ['tFUZZA', 'tFUZZB'].entries()) {
      const a = await env.operator('POST', '/operator/assets', { underlying_symbol: `FUZZ${'AB'[i]}`, token_symbol: sym, network: 'base', vault_address: '0x' + derivedHex(1_000_000 + i) });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      state.sacAssets.push(a.body.asset_id);
    }
    for (let i = 0; i < 2; i++) {
      const email = `sacrificial-${i}@ap.example`;
      const wallet = '0x' + derivedHex(2_000_000 + i);
      const ap = await env.operator('POST', '/operator/aps', { email, wallets: [{ network: 'base', address: wallet }] });
      assert.equal(ap.status, 201, JSON.stringify(ap.body));
      state.sacAps.push({ apId: ap.body.apId, email, wallet });
    }

    // Flows in an operator state (journalOverdue): the only mint state that takes an operator event
    // with no chain work behind it. Created first, then the clock jumps past the journal timeout.
    const mk = async (trid: string) => {
      const body = Buffer.from(JSON.stringify({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId }));
      const res = await send({ method: 'POST', path: '/tokenization/mint', headers: alpacaHeaders(), body });
      assert.equal(res.status, 200, res.text);
      return { body, res };
    };
    for (let i = 0; i < 24; i++) {
      const trid = `overdue-${SEED}-${i}`;
      await mk(trid);
      state.overdue.push(trid);
    }
    env.clock.advance(env.config.mint.journalTimeoutMs + 1);
    for (const trid of state.overdue) await waitForState(env.svc, `mint:${trid}`, ['journalOverdue'], 20_000);
    // A few mints awaiting their journal, so confirms can hit live flows from the first run on.
    for (let i = 0; i < 4; i++) {
      const trid = `pending-${SEED}-${i}`;
      const { body, res } = await mk(trid);
      rememberMint(trid, body, '/tokenization/mint', res);
    }
    // One complete mint through the fake Alpaca (a receipt to verify, a completed flow to poke).
    const done = await env.alpaca.requestMint({ tokenization_request_id: `completed-${SEED}`, qty: '2', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(done.status, 200);
    await env.alpaca.confirmMint(`completed-${SEED}`, done.body.issuer_request_id, 'completed');
    await waitForState(env.svc, `mint:completed-${SEED}`, ['completed']);
    state.mints.push({ trid: `completed-${SEED}`, irid: done.body.issuer_request_id, body: Buffer.alloc(0), path: '/tokenization/mint', pending: false });
    await quiesce();

    // ---- the campaign ----
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        scenarios++;
        const { kind, steps } = stepsFor(spec);
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        for (const step of steps) await runStep(step);
        return true; // violations are collected and asserted per property below
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    elapsedMs = Date.now() - started;
    finalReady = await send({ method: 'GET', path: '/health/ready', headers: {} });

    console.log(`      fuzz seed ${SEED}, ${scenarios} scenarios, ${cases} requests in ${(elapsedMs / 1000).toFixed(1)} s (FUZZ_SEED / FUZZ_RUNS to change)`);
    console.log(`      status histogram: ${JSON.stringify(Object.fromEntries(Object.entries(histogram).sort()))}`);
    console.log(`      valid requests: ${validSent} sent, ${validAccepted} accepted (2xx); real mints confirmed completed: ${state.completedConfirms}`);
    console.log(`      scenarios by kind: ${JSON.stringify(byKind)}`);
    if (process.env.FUZZ_DEBUG) console.log(Object.entries(detailed).sort().map(([k, n]) => `${n}\t${k}`).join('\n'));
    if (process.env.FUZZ_DEBUG) console.log(Object.entries(slow).sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => `${v.ms} ms / ${v.n} ${k}`).join('\n'));
    if (violations.length) console.log(`      ${violations.length} violation(s): ${JSON.stringify(countBy(violations.map((x) => x.property)))}`);
  });

  after(async () => {
    agent.destroy();
    await env?.close();
  });

  function countBy(xs: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const x of xs) out[x] = (out[x] ?? 0) + 1;
    return out;
  }

  /** One line per distinct (label, detail head), with the first reproduction of each. */
  function report(property: Violation['property']): string {
    const found = violations.filter((x) => x.property === property);
    const groups = new Map<string, { n: number; first: Violation }>();
    for (const x of found) {
      const key = `${x.label} | ${x.detail.replace(/"request_id":"[^"]*"/g, '').replace(/[0-9A-Z]{26}/g, '<ulid>').slice(0, 90)}`;
      const g = groups.get(key);
      if (g) g.n++;
      else groups.set(key, { n: 1, first: x });
    }
    const lines = [...groups.values()].slice(0, 30).map(({ n, first }) => `  ×${n} ${first.label}: ${first.detail}\n      e.g. ${first.repro}`);
    return `${found.length} violation(s) of ${property} (seed ${SEED}):\n${lines.join('\n')}${groups.size > 30 ? `\n  … ${groups.size - 30} more kinds` : ''}`;
  }
  const none = (property: Violation['property']) => assert.ok(!violations.some((x) => x.property === property), report(property));

  it(`sends at least ${MIN_CASES} requests, valid ones among them, to every endpoint`, () => {
    if (RUNS >= 2300) assert.ok(cases >= MIN_CASES, `only ${cases} requests`);
    assert.ok(validAccepted > 0, 'no valid request was accepted');
    const missed = ENDPOINT_NAMES.filter((name) => !endpointHits[name]);
    if (RUNS >= 2300) assert.deepEqual(missed, [], 'endpoints the fuzzer never reached');
  });
  it('keeps every connection usable (no reset, hang or unparseable answer)', () => none('transport'));
  it('never answers 5xx', () => none('no_5xx'));
  it('answers every 4xx with a JSON {code, message}, code in snake_case', () => none('error_shape'));
  it('writes nothing to the journal for a request it refuses', () => none('journal_write'));
  it('never shows a secret in a response', () => none('secret_leak'));
  it('never answers 2xx to a request without the right credential', () => none('auth_bypass'));
  it('accepts the valid requests and gives scenarios the answers the README documents', () => none('expectation'));
  it('(self-check) each of these checks does flag what it looks for', async () => {
    const found: Violation[] = [];
    const step: Step = { label: 'self-check', valid: false, realm: 'alpaca', cred: 'invalid', build: () => undefined, expect: () => 'unexpected answer' };
    const req: Req = { method: 'POST', path: '/tokenization/mint', headers: {} };
    const res = (status: number, text: string, ct = 'application/json'): Res => ({ status, text, headers: { 'content-type': ct }, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() });
    checkResponse(step, req, res(500, '{"code":"internal_error","message":"x"}'), found);
    checkResponse(step, req, res(400, 'Bad Request', 'text/plain'), found);
    checkResponse(step, req, res(400, '{"code":"Bad-Code","message":"x"}'), found);
    checkResponse(step, req, res(400, `{"code":"x","message":"key ${env.apiKey}"}`), found);
    checkResponse(step, req, res(200, '{}'), found);
    for (const p of ['no_5xx', 'error_shape', 'secret_leak', 'auth_bypass', 'expectation'] as const) assert.ok(found.some((f) => f.property === p), `${p} is never flagged`);
    assert.equal(found.filter((f) => f.property === 'error_shape').length, 2);
    const mark = await journalMark();
    await env.svc.assets.halt(state.sacAssets[0]!, 'self-check');
    assert.ok((await journalWritesSince(mark)).length > 0, 'a journal write goes unnoticed');
    await env.svc.assets.resume(state.sacAssets[0]!);
  });
  it('keeps serving: /health/ready is 200 after the campaign', () => {
    assert.equal(finalReady?.status, 200, finalReady?.text);
  });
});
