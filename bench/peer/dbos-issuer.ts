import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DBOS, Error as DBOSErrors } from '@dbos-inc/dbos-sdk';
import Router from '@koa/router';
import { JsonRpcProvider, Network, Transaction, type Wallet } from 'ethers';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { ZodError } from 'zod';
import { BasicAuth } from '../../alpaca/auth';
import { AlpacaClient } from '../../alpaca/client';
import { toBaseUnits } from '../../core/amounts';
import { DEFAULT_FEE_POLICY, feesFor } from '../../chain/fee-policy';
import { openKeystoreFile } from '../../chain/keystore';
import { normalizeWalletAddress } from '../../core/networks';
import { encodeMint, encodeReceiptInformation, parseDeposits } from '../../chain/vault';
import { mintConfirmBody, mintRequestBody } from '../../server/schemas/mint';

/**
 * The peer of the bench's section 5: the same mint, written with DBOS Transact instead of the
 * service's journal + outbox. Alpaca's mint request starts a workflow whose id is the tokenization
 * request id (so a repeated request starts nothing new); Alpaca's journal confirm is a `DBOS.send`
 * the workflow waits for with `DBOS.recv`; then three checkpointed steps: sign and broadcast the vault
 * deposit, wait for its receipt, call Alpaca back. Run as its own process, like the service.
 *
 * Configured by environment only (the bench spawns it): PEER_* below. Prints `listening on <url>`.
 */
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const settings = {
  systemDatabaseUrl: env('PEER_DBOS_SYSTEM_DATABASE_URL'),
  inboundApiKey: env('PEER_INBOUND_API_KEY'),
  rpcUrl: env('PEER_RPC_URL'),
  chainId: Number(env('PEER_CHAIN_ID')),
  keystoreFile: env('PEER_KEYSTORE_FILE'),
  keystorePasswordFile: env('PEER_KEYSTORE_PASSWORD_FILE'),
  alpacaBaseUrl: env('PEER_ALPACA_BASE_URL'),
  alpacaAccountId: env('PEER_ALPACA_ACCOUNT_ID'),
  alpacaKeyId: env('PEER_ALPACA_KEY_ID'),
  alpacaSecret: env('PEER_ALPACA_SECRET'),
  /** The one AP and asset the service would hold in its registries; here they are configuration. */
  clientId: env('PEER_CLIENT_ID'),
  apWallet: env('PEER_AP_WALLET').toLowerCase(),
  network: env('PEER_NETWORK'),
  underlyingSymbol: env('PEER_UNDERLYING_SYMBOL'),
  tokenSymbol: env('PEER_TOKEN_SYMBOL'),
  vault: env('PEER_VAULT'),
};

/** Same confirmation polling as the service's transaction manager (250 ms). */
const RECEIPT_POLL_MS = 250;
/** How long a mint waits for Alpaca's journal (the workflow then ends without minting). */
const JOURNAL_TIMEOUT_S = 3600;

interface MintOrder {
  tokenizationRequestId: string;
  issuerRequestId: string;
  clientExternalAccountId: string;
  walletAddress: string;
  network: string;
  amountUnits: string;
}

const provider = new JsonRpcProvider(settings.rpcUrl, Network.from(settings.chainId), { staticNetwork: true, cacheTimeout: -1 });
let issuer: Wallet;
const alpaca = new AlpacaClient({
  baseUrl: settings.alpacaBaseUrl,
  accountId: settings.alpacaAccountId,
  auth: new BasicAuth(settings.alpacaKeyId, settings.alpacaSecret),
  timeoutMs: 10_000,
});

/**
 * The issuer's nonces, handed out in order in memory so many mints are in flight at once (the service
 * persists them; here a restart re-reads the chain's pending count). Only nonce + signature take turns.
 */
let nextNonce: number | undefined;
let signerTurn: Promise<unknown> = Promise.resolve();
function inTurn<T>(task: () => Promise<T>): Promise<T> {
  const next = signerTurn.then(task, task);
  signerTurn = next.catch(() => undefined);
  return next;
}

/** Step 1: estimate, price, sign with the next nonce, broadcast. Its result (the hash) is DBOS's checkpoint. */
async function submitMint(order: MintOrder): Promise<string> {
  const data = encodeMint({
    vault: settings.vault,
    issuer: issuer.address,
    recipient: order.walletAddress,
    amount: BigInt(order.amountUnits),
    receiptInformation: encodeReceiptInformation(order.tokenizationRequestId),
  });
  const gasLimit = ((await provider.estimateGas({ from: issuer.address, to: settings.vault, data })) * 12n) / 10n;
  const fees = await feesFor(provider, DEFAULT_FEE_POLICY);
  const raw = await inTurn(async () => {
    if (nextNonce === undefined) nextNonce = await provider.getTransactionCount(issuer.address, 'pending');
    const signed = await issuer.signTransaction({ type: 2, chainId: settings.chainId, nonce: nextNonce, to: settings.vault, data, gasLimit, ...fees });
    nextNonce++;
    return signed;
  });
  try {
    await provider.broadcastTransaction(raw);
  } catch (err) {
    // A nonce handed out but never broadcast would stall every later one: re-read it from the chain.
    nextNonce = undefined;
    throw err;
  }
  return Transaction.from(raw).hash!;
}

/** Step 2: poll for the receipt (1 confirmation, as the bench's service runs), check the Deposit. */
async function awaitMintReceipt(txHash: string): Promise<{ receiptId: string; blockNumber: number }> {
  for (;;) {
    const receipt = await provider.getTransactionReceipt(txHash);
    if (receipt) {
      if (receipt.status !== 1) throw new Error(`mint ${txHash} reverted`);
      const deposit = parseDeposits(receipt, settings.vault).find((d) => d.owner.toLowerCase() === issuer.address.toLowerCase());
      if (!deposit) throw new Error(`mint ${txHash} has no Deposit to the issuer`);
      return { receiptId: deposit.id.toString(), blockNumber: receipt.blockNumber };
    }
    await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
  }
}

/** Step 3: the same call, body and Idempotency-Key rule (stable per mint) as the service's callback. */
async function callBackAlpaca(order: MintOrder, txHash: string): Promise<void> {
  await alpaca.mintCallback(
    { tokenization_request_id: order.tokenizationRequestId, tx_hash: txHash, wallet_address: order.walletAddress, network: order.network, client_external_account_id: order.clientExternalAccountId },
    { idempotencyKey: `mint-callback:${order.tokenizationRequestId}` },
  );
}

type MintOutcome = 'completed' | 'journal_rejected' | 'journal_timeout';

const retry = { retriesAllowed: true, intervalSeconds: 0.5, backoffRate: 2, maxAttempts: 8 };

const mintWorkflow = DBOS.registerWorkflow(
  async (order: MintOrder): Promise<MintOutcome> => {
    const journal = await DBOS.recv<{ status: 'completed' | 'rejected' }>('journal', JOURNAL_TIMEOUT_S);
    if (!journal) return 'journal_timeout';
    if (journal.status !== 'completed') return 'journal_rejected';
    const txHash = await DBOS.runStep(() => submitMint(order), { name: 'submitMint', ...retry });
    await DBOS.runStep(() => awaitMintReceipt(txHash), { name: 'awaitMintReceipt', ...retry });
    await DBOS.runStep(() => callBackAlpaca(order, txHash), { name: 'callBackAlpaca', ...retry });
    return 'completed';
  },
  { name: 'mint' },
);

// ----- HTTP: Alpaca's two calls -----

/**
 * The issuer request id is derived from the tokenization request id with a per-process secret key:
 * a repeated request answers the same id without reading anything, and a confirm is checked against it.
 */
const issuerIdKey = crypto.randomBytes(32);
function issuerRequestIdFor(tokenizationRequestId: string): string {
  const h = crypto.createHmac('sha256', issuerIdKey).update(tokenizationRequestId).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const fail = (ctx: Koa.Context, status: number, code: string, message: string) => {
  ctx.status = status;
  ctx.body = { code, message };
};

const app = new Koa();
app.use(async (ctx, next) => {
  const key = Buffer.from(ctx.get('x-api-key'));
  const expected = Buffer.from(settings.inboundApiKey);
  if (key.length !== expected.length || !crypto.timingSafeEqual(key, expected)) return fail(ctx, 401, 'unauthorized', 'Unauthorized');
  if (ctx.method === 'POST') {
    try {
      ctx.request.body = JSON.parse((await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' })) as string);
    } catch {
      return fail(ctx, 400, 'malformed_json', 'Request body is not valid JSON');
    }
  }
  try {
    await next();
  } catch (err) {
    if (err instanceof ZodError) return fail(ctx, 400, 'invalid_payload', 'Failed Validation: Invalid data payload');
    throw err;
  }
});

const router = new Router();
router.post('/tokenization/mint', async (ctx) => {
  const req = mintRequestBody.parse(ctx.request.body);
  if (!('client_external_account_id' in req.clientRef) || req.clientRef.client_external_account_id !== settings.clientId) {
    return fail(ctx, 400, 'client_not_eligible', 'Insufficient Eligibility: Client not eligible');
  }
  if (req.network !== settings.network || req.tokenSymbol !== settings.tokenSymbol || req.underlyingSymbol !== settings.underlyingSymbol) {
    return fail(ctx, 400, 'token_not_available', 'Invalid Token: Token not available on the network');
  }
  const wallet = normalizeWalletAddress(req.network, req.walletAddress);
  if (!wallet || wallet.toLowerCase() !== settings.apWallet) return fail(ctx, 400, 'wallet_not_registered', 'Invalid Wallet: Wallet does not belong to client');
  let amountUnits: bigint;
  try {
    amountUnits = toBaseUnits(req.qty, 18);
  } catch {
    return fail(ctx, 400, 'invalid_payload', 'Failed Validation: Invalid data payload');
  }
  const order: MintOrder = {
    tokenizationRequestId: req.tokenizationRequestId,
    issuerRequestId: issuerRequestIdFor(req.tokenizationRequestId),
    clientExternalAccountId: settings.clientId,
    walletAddress: wallet,
    network: req.network,
    amountUnits: amountUnits.toString(),
  };
  // Idempotent: the workflow id is the tokenization request id; a repeat gets the existing workflow.
  // Answered once DBOS has recorded the workflow (startWorkflow resolves after its status row is written).
  await DBOS.startWorkflow(mintWorkflow, { workflowID: order.tokenizationRequestId })(order);
  ctx.body = { issuer_request_id: order.issuerRequestId, status: 'created' };
});

router.post('/tokenization/mint/confirm', async (ctx) => {
  const body = mintConfirmBody.parse(ctx.request.body);
  if (body.issuerRequestId !== issuerRequestIdFor(body.tokenizationRequestId)) {
    return fail(ctx, 422, 'issuer_request_id_mismatch', 'issuer_request_id does not match this tokenization request');
  }
  try {
    // The idempotency key makes Alpaca's retries of the same confirm one message.
    await DBOS.send(body.tokenizationRequestId, { status: body.status }, 'journal', `journal:${body.tokenizationRequestId}`);
  } catch (err) {
    if (err instanceof DBOSErrors.DBOSNonExistentWorkflowError) return fail(ctx, 404, 'tokenization_request_not_found', 'No mint request with this tokenization_request_id');
    throw err;
  }
  ctx.body = { tokenization_request_id: body.tokenizationRequestId, issuer_request_id: body.issuerRequestId, status: body.status };
});
app.use(router.routes());

async function main(): Promise<void> {
  issuer = await openKeystoreFile(settings.keystoreFile, settings.keystorePasswordFile);
  DBOS.setConfig({ name: 'issuance-peer', systemDatabaseUrl: settings.systemDatabaseUrl, logLevel: 'warn' });
  await DBOS.launch();
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  const stop = async () => {
    server.close();
    await DBOS.shutdown();
    provider.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
