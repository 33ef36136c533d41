import { mintFlowId } from '../../core/flow-ids';
import crypto from 'node:crypto';
import Router, { type RouterContext } from '@koa/router';
import { ZodError, type ZodType } from 'zod';
import { DomainError, EventNotAcceptedError, FlowAlreadyExistsError } from '../../core/errors';
import { admitMint, type MintFacts, type MintRequest, REASONS } from '../../domain/admit-mint';
import type { Database } from '../../persistence/database';
import type { FlowHost } from '../../runtime/flow-host';
import type { MintContext } from '../../machines/mint';
import type { AccountRegistry } from '../../persistence/registry/accounts';
import type { AssetRegistry } from '../../persistence/registry/assets';
import { mintConfirmBody, mintRequestBody } from '../schemas/mint';
import type { MintAdmission } from '../controls/mint-admission';

/** Alpaca's bodies fail validation with Alpaca's own reason string. */
function parseAlpacaBody<T>(schema: ZodType<T>, body: unknown): T {
  try {
    return schema.parse(body);
  } catch (err) {
    if (err instanceof ZodError) throw new DomainError('invalid_payload', REASONS.payload);
    throw err;
  }
}


export function requestHash(r: MintRequest): string {
  const canonical = JSON.stringify([r.tokenizationRequestId, r.qty, r.underlyingSymbol, r.tokenSymbol, r.network, r.walletAddress.toLowerCase(), r.clientRef]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
}

export interface MintRouteOptions {
  journalTimeoutMs: number;
}

/**
 * Mint request and journal confirmation, each at Alpaca's current path and the seeds' path.
 * Every answer leaves only after the journal commit; repeats answer what the first got.
 */
export function mintRoutes(deps: { host: FlowHost; reader: Database; accounts: AccountRegistry; assets: AssetRegistry; admission: MintAdmission }, options: MintRouteOptions): Router {
  const { host, reader, accounts, assets, admission } = deps;
  const router = new Router();

  async function repeatOf(flowId: string, hash: string) {
    const existing = await host.get(flowId, reader);
    if (!existing) return undefined;
    const ctx = existing.snapshot.context as MintContext;
    if (ctx.requestHash !== hash) throw new DomainError('tokenization_request_id_reused', 'This tokenization_request_id was already used with a different request');
    return { issuer_request_id: ctx.issuerRequestId, status: 'created' };
  }

  const request = async (ctx: RouterContext) => {
    const req: MintRequest = parseAlpacaBody(mintRequestBody, ctx.request.body);
    const flowId = mintFlowId(req.tokenizationRequestId);
    const hash = requestHash(req);
    const repeat = await repeatOf(flowId, hash);
    if (repeat) {
      ctx.body = repeat;
      return;
    }
    await admission.refuseWhilePaused();
    const admitted = admitMint(req, await factsOf(req, hash));
    if ('refusal' in admitted) throw admitted.refusal;
    const { input } = admitted;
    try {
      // The risk controls are checked in the accepting transaction: a refusal writes nothing.
      await host.start('mint', flowId, input, { correlationId: req.tokenizationRequestId, within: (tx) => admission.admit(tx, input) });
      ctx.body = { issuer_request_id: input.issuerRequestId, status: 'created' };
    } catch (err) {
      if (!(err instanceof FlowAlreadyExistsError)) throw err;
      // A concurrent duplicate won the race: answer what it got.
      ctx.body = await repeatOf(flowId, hash);
    }
  };

  async function factsOf(req: MintRequest, hash: string): Promise<MintFacts> {
    const ap = await accounts.findLinkedClient({
      clientExternalAccountId: 'client_external_account_id' in req.clientRef ? req.clientRef.client_external_account_id : undefined,
      clientAccountId: 'client_account_id' in req.clientRef ? req.clientRef.client_account_id : undefined,
    });
    const asset = await assets.findByToken(req.tokenSymbol, req.network);
    return { ap, asset, issuerRequestId: crypto.randomUUID(), requestHash: hash, journalTimeoutMs: options.journalTimeoutMs };
  }

  const confirm = async (ctx: RouterContext) => {
    const body = parseAlpacaBody(mintConfirmBody, ctx.request.body);
    const flowId = mintFlowId(body.tokenizationRequestId);
    const answer = { tokenization_request_id: body.tokenizationRequestId, issuer_request_id: body.issuerRequestId, status: body.status };

    const check = async (): Promise<'apply' | 'repeat'> => {
      const flow = await host.get(flowId);
      if (!flow) throw new DomainError('tokenization_request_not_found', 'No mint request with this tokenization_request_id');
      const m = flow.snapshot.context as MintContext;
      if (m.issuerRequestId !== body.issuerRequestId) throw new DomainError('issuer_request_id_mismatch', 'issuer_request_id does not match this tokenization request');
      if (body.clientRef && JSON.stringify(body.clientRef) !== JSON.stringify(m.clientRef)) throw new DomainError('client_mismatch', 'The client id does not match the mint request');
      if (m.journalStatus === body.status) return 'repeat';
      if (m.journalStatus) throw new DomainError('journal_already_recorded', `The journal was already recorded as ${m.journalStatus}`);
      return 'apply';
    };

    if ((await check()) === 'apply') {
      try {
        await host.send(flowId, await journalEvent(flowId, body.status), { correlationId: body.tokenizationRequestId });
      } catch (err) {
        if (!(err instanceof EventNotAcceptedError)) throw err;
        if ((await check()) !== 'repeat') throw err; // e.g. closed by an operator
      }
    }
    ctx.body = answer;
  };

  /** A confirmed journal carries the asset's approval threshold in force now, which the machine compares with the quantity. */
  async function journalEvent(flowId: string, status: 'completed' | 'rejected') {
    if (status === 'rejected') return { type: 'JOURNAL_REJECTED' };
    const mint = (await host.require(flowId)).snapshot.context as MintContext;
    const approvalThreshold = await admission.approvalThreshold(mint.assetId);
    return approvalThreshold === undefined ? { type: 'JOURNAL_CONFIRMED' } : { type: 'JOURNAL_CONFIRMED', approvalThreshold };
  }

  router.post('/tokenization/mint', request);
  router.post('/inkind/issuance', request);
  router.post('/tokenization/mint/confirm', confirm);
  router.post('/inkind/issuance/confirm', confirm);
  return router;
}
