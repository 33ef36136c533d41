import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Contract, Wallet } from 'ethers';
import { mintMachine } from '../../machines/mint';
import type { IssuanceService } from '../../server/issuance-service';
import { depositsByRequest } from '../support/chain-evidence';
import { type MintEnv, startMintEnv } from '../support/mint-env';
import { type AnyPath, assertComplete, coverage, describePath, generatePaths, type ModelSpec, playPath, type PathRun } from './model-runner';

type Env = MintEnv & { svc: IssuanceService };
interface Ctx {
  trid: string;
  issuerRequestId?: string;
}

const JOURNAL_TIMEOUT = 60_000;
/** A confirm while the asset has an approval threshold below the quantity, and decisions by two different people. */
const APPROVAL_EVENTS: Array<{ type: string } & Record<string, string>> = [
  { type: 'JOURNAL_CONFIRMED', approvalThreshold: '0' },
  { type: 'OPERATOR_APPROVE', operator: 'alice' },
  { type: 'OPERATOR_APPROVE', operator: 'bob' },
  { type: 'OPERATOR_REJECT', operator: 'bob' },
];

describe('mint machine: model-based paths against the real service', function () {
  this.timeout(300_000);
  let env: Env;

  /** Two named operators besides the default one: approvals need two different people. */
  const tokens: Record<string, string> = { alice: crypto.randomBytes(20).toString('hex'), bob: crypto.randomBytes(20).toString('hex') };

  before(async () => {
    env = (await startMintEnv(
      {
        autoRun: false, // the model plays the runner, the timer scheduler and the poller itself
        mint: { submitAttempts: 2, confirmAttempts: 2, confirmWaitMs: 200, callbackRetry: { baseMs: 10, capMs: 20, maxAttempts: 2 } },
      },
      { config: { operators: new Map(Object.entries(tokens)) } },
    )) as Env;
  });
  after(() => env?.close());

  const flowId = (c: Ctx) => `mint:${c.trid}`;
  const state = async (c: Ctx) => (await env.svc.host.require(flowId(c))).state;
  const deposits = async (c: Ctx) => (await depositsByRequest(env.provider, env.chain.vault.vault)).get(c.trid) ?? 0;
  const operatorEvent = (type: string) => async ({ ctx }: PathRun<Ctx>) => {
    const res = await env.operator('POST', `/operator/flows/${encodeURIComponent(flowId(ctx))}/events`, { type });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  /** Lets the outbox runner work (moving the clock past any backoff) until the flow leaves its state. */
  const runEffectsUntilMoved = async (ctx: Ctx, maxRounds = 10) => {
    const before = await state(ctx);
    for (let i = 0; i < maxRounds && (await state(ctx)) === before; i++) {
      env.clock.advance(60_000);
      await env.svc.runner.drain();
    }
  };
  const owner = () => new Wallet(env.chain.devnet.accounts[0]!.privateKey, env.provider);
  /** The vault owner freezes it for a minute (a freeze can only be extended; time then moves past it). */
  const freezeVault = async (opts: { mine: boolean }) => {
    const block = await env.provider.getBlock('latest');
    const vault = new Contract(env.chain.vault.vault, ['function ownerFreezeUntil(uint256)'], owner());
    const tx = await vault.getFunction('ownerFreezeUntil')(BigInt(block!.timestamp) + 60n, { maxPriorityFeePerGas: 10_000_000_000n, maxFeePerGas: 100_000_000_000n });
    if (opts.mine) await tx.wait();
    return tx;
  };
  const thawVault = async () => {
    await env.provider.send('evm_increaseTime', [120]);
    await env.provider.send('evm_mine', []);
  };
  const nextEvent = (run: PathRun<Ctx>) => run.path.steps[run.index + 1]?.event.type;
  const stepEvent = (run: PathRun<Ctx>) => run.path.steps[run.index]!.event as { type: string; operator?: string; approvalThreshold?: string };
  /** The decision of the operator the path names (each a person of their own, with their own token). */
  const decisionBy = async (run: PathRun<Ctx>) => {
    const { type, operator } = stepEvent(run);
    const res = await fetch(`${env.svc.url}/operator/flows/${encodeURIComponent(flowId(run.ctx))}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[operator!]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type, note: `model step ${run.index}` }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const setApprovalThreshold = async (threshold: string | null) => {
    const res = await env.operator('PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: threshold });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const noTransactionSigned = async (c: Ctx) => assert.equal((await env.svc.db('chain_transactions').where({ flow_id: flowId(c) })).length, 0, 'nothing signed');

  const spec: ModelSpec<Ctx> = {
    name: 'mint',
    machine: mintMachine,
    input: {
      tokenizationRequestId: 't', issuerRequestId: 'i', requestHash: 'h', apId: 'a', clientRef: { client_external_account_id: 'a' }, assetId: 'x',
      underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: 'base', vaultAddress: '0x', decimals: 18, walletAddress: '0x', qty: '1', amountUnits: '1', journalTimeoutMs: JOURNAL_TIMEOUT,
    },
    events: [
      ...['JOURNAL_CONFIRMED', 'JOURNAL_REJECTED', 'JOURNAL_CONFIRMATION_TIMED_OUT', 'MINT_TX_SENT', 'MINT_SUBMISSION_FAILED', 'MINT_CONFIRMED', 'MINT_REVERTED', 'CALLBACK_ACKNOWLEDGED', 'CALLBACK_FAILED', 'OPERATOR_RETRY_MINT', 'OPERATOR_RETRY_CALLBACK', 'OPERATOR_CLOSE'].map(
        (type) => ({ type, txHash: '0x1', nonce: 0, receiptId: '1', blockNumber: 1, code: 'x', message: 'x' }),
      ),
      ...APPROVAL_EVENTS,
    ],
    newContext: async () => ({ trid: crypto.randomUUID() }),
    flowId,
    service: () => env.svc,
    stimuli: {
      // Alpaca's mint request over HTTP.
      'xstate.init': async ({ ctx }) => {
        const res = await env.alpaca.requestMint({ tokenization_request_id: ctx.trid, qty: '1.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
        assert.equal(res.status, 200);
        ctx.issuerRequestId = res.body.issuer_request_id;
      },
      // With the asset's approval threshold (set by an operator) below the requested 1.5 when the path wants one.
      JOURNAL_CONFIRMED: async (run) => {
        const aboveThreshold = stepEvent(run).approvalThreshold !== undefined;
        if (aboveThreshold) await setApprovalThreshold('1');
        try {
          assert.equal((await env.alpaca.confirmMint(run.ctx.trid, run.ctx.issuerRequestId!, 'completed')).status, 200);
        } finally {
          if (aboveThreshold) await setApprovalThreshold(null);
        }
      },
      JOURNAL_REJECTED: async ({ ctx }) => assert.equal((await env.alpaca.confirmMint(ctx.trid, ctx.issuerRequestId!, 'rejected')).status, 200),
      // The durable timer made due.
      JOURNAL_CONFIRMATION_TIMED_OUT: async () => {
        env.clock.advance(JOURNAL_TIMEOUT + 1);
        await env.svc.scheduler.fireDue();
      },
      // The runner signs, stores and broadcasts. If the path next wants an on-chain revert, the block is held back.
      MINT_TX_SENT: async (run) => {
        if (nextEvent(run) === 'MINT_REVERTED') await env.provider.send('evm_setAutomine', [false]);
        await env.svc.runner.drain();
      },
      MINT_CONFIRMED: async () => {
        await env.svc.runner.drain();
      },
      // Before signing: the vault is frozen, so the node refuses to estimate. After broadcast: a freeze lands in the same block, ahead of our transaction.
      MINT_REVERTED: async ({ ctx }) => {
        if ((await state(ctx)) === 'minting.submitting') {
          await freezeVault({ mine: true });
          await env.svc.runner.drain();
        } else {
          await freezeVault({ mine: false });
          await env.provider.send('evm_mine', []);
          await env.provider.send('evm_setAutomine', [true]);
          await env.svc.runner.drain();
        }
        await thawVault();
      },
      // The node is unreachable for the whole retry budget.
      MINT_SUBMISSION_FAILED: async ({ ctx }) => {
        env.rpc.down = true;
        try {
          await runEffectsUntilMoved(ctx);
        } finally {
          env.rpc.down = false;
        }
      },
      CALLBACK_ACKNOWLEDGED: async () => {
        await env.svc.runner.drain();
      },
      // Alpaca answers 503 to every attempt of the budget.
      CALLBACK_FAILED: async ({ ctx }) => {
        env.alpaca.behaviour.failNext('mint-callback', 2, 503);
        await runEffectsUntilMoved(ctx);
      },
      OPERATOR_RETRY_MINT: operatorEvent('OPERATOR_RETRY_MINT'),
      OPERATOR_RETRY_CALLBACK: operatorEvent('OPERATOR_RETRY_CALLBACK'),
      OPERATOR_CLOSE: operatorEvent('OPERATOR_CLOSE'),
      OPERATOR_APPROVE: decisionBy,
      OPERATOR_REJECT: decisionBy,
    },
    pendingEffects: (s) => ({ 'minting.submitting': ['submitMintTransaction'], 'minting.confirming': ['awaitMintConfirmations'], callingBack: ['notifyAlpacaOfMint'] })[s] ?? [],
    states: {
      awaitingJournal: async ({ ctx }) => {
        assert.equal((await env.svc.db('timers').where({ flow_id: flowId(ctx), send_id: 'journalTimeout' })).length, 1, 'the journal timeout is armed');
        assert.equal(await deposits(ctx), 0);
      },
      journalOverdue: async ({ ctx }) => {
        assert.equal((await env.svc.host.require(flowId(ctx))).needsOperator, true);
        assert.equal((await env.svc.db('timers').where({ flow_id: flowId(ctx) })).length, 0);
      },
      journalRejected: async ({ ctx }) => {
        assert.equal(await deposits(ctx), 0, 'nothing minted for a rejected journal');
        assert.equal(env.alpaca.callbacksFor(ctx.trid).length, 0);
      },
      closedByOperator: async ({ ctx }) => assert.equal(await deposits(ctx), 0),
      'awaitingApproval.pending': async ({ ctx }) => {
        const flow = await env.svc.host.require(flowId(ctx));
        assert.equal(flow.needsOperator, true);
        assert.equal(flow.snapshot.context.approvalThreshold, '1', 'the threshold in force at the confirm is recorded');
        assert.equal(flow.snapshot.context.journalStatus, 'completed');
        assert.equal((await env.svc.db('timers').where({ flow_id: flowId(ctx) })).length, 0, 'the journal timeout was cancelled');
        await noTransactionSigned(ctx);
        assert.equal(await deposits(ctx), 0);
      },
      'awaitingApproval.endorsed': async (run) => {
        const flow = await env.svc.host.require(flowId(run.ctx));
        assert.equal(flow.needsOperator, true);
        assert.equal(flow.snapshot.context.approvedBy, stepEvent(run).operator, 'the first approver is recorded');
        await noTransactionSigned(run.ctx);
        assert.equal(await deposits(run.ctx), 0);
      },
      rejectedByOperator: async (run) => {
        const flow = await env.svc.host.require(flowId(run.ctx));
        assert.equal(flow.snapshot.context.rejectedBy, stepEvent(run).operator);
        await noTransactionSigned(run.ctx);
        assert.equal(await deposits(run.ctx), 0, 'nothing minted for a rejected mint');
        assert.equal(env.alpaca.callbacksFor(run.ctx.trid).length, 0);
      },
      'minting.submitting': async ({ ctx }) => {
        assert.equal((await env.svc.db('timers').where({ flow_id: flowId(ctx) })).length, 0, 'the journal timeout was cancelled');
        assert.ok((await deposits(ctx)) <= 1);
        const c = (await env.svc.host.require(flowId(ctx))).snapshot.context;
        if (c.approvalThreshold !== undefined) {
          assert.ok(c.approvedBy && c.countersignedBy && c.approvedBy !== c.countersignedBy, 'two different operators approved it');
        }
      },
      'minting.confirming': async ({ ctx }) => {
        const flow = await env.svc.host.require(flowId(ctx));
        const tx = await env.svc.db('chain_transactions').where({ tx_hash: flow.snapshot.context.txHash }).first();
        assert.ok(tx, 'the signed transaction was stored');
        assert.equal(tx.flow_id, flowId(ctx));
      },
      mintSubmissionFailed: async ({ ctx }) => {
        assert.equal((await env.svc.host.require(flowId(ctx))).needsOperator, true);
        assert.ok((await deposits(ctx)) <= 1);
      },
      mintReverted: async ({ ctx }) => {
        const flow = await env.svc.host.require(flowId(ctx));
        assert.equal(flow.needsOperator, true);
        assert.match(flow.snapshot.context.failure.code, /owner_frozen|reverted/);
        assert.equal(await deposits(ctx), 0, 'a reverted mint minted nothing');
      },
      callingBack: async ({ ctx }) => {
        assert.equal(await deposits(ctx), 1, 'exactly one deposit');
        const view = await env.svc.db('mint_view').where({ tokenization_request_id: ctx.trid }).first();
        assert.match(view.tx_hash, /^0x[0-9a-f]{64}$/);
        assert.ok(view.receipt_id);
      },
      callbackFailed: async ({ ctx }) => {
        assert.equal((await env.svc.host.require(flowId(ctx))).needsOperator, true);
        assert.equal(await deposits(ctx), 1);
      },
      completed: async ({ ctx }) => {
        assert.equal(await deposits(ctx), 1, 'exactly one deposit');
        const accepted = env.alpaca.callbacksFor(ctx.trid).filter((c: any) => c.status === 200);
        assert.equal(accepted.length, 1, 'exactly one accepted callback');
        const view = await env.svc.db('mint_view').where({ tokenization_request_id: ctx.trid }).first();
        assert.equal(accepted[0]!.body.tx_hash, view.tx_hash);
        assert.equal(view.state, 'completed');
      },
    },
  };

  const { shortest, simple, retries, all } = generatePaths(spec as ModelSpec<unknown>);

  it('has a stimulus for every event and an assertion for every state on its paths', () => {
    assertComplete(spec as ModelSpec<unknown>, all);
    const cov = coverage(spec as ModelSpec<unknown>, all, shortest);
    console.log(`      mint: ${shortest.length} shortest + ${simple.length} simple + ${retries.length} retry paths (${all.length} distinct); states ${cov.states.size}/${cov.allStates.length}, transitions ${cov.transitions.size}/${cov.allTransitions.length}`);
    assert.deepEqual(cov.allStates.filter((s) => !cov.states.has(s)), [], 'every state is reached by some path');
    assert.deepEqual(cov.uncoveredTransitions, [], 'every transition is taken by some path');
  });

  all.forEach((path: AnyPath, i: number) => {
    it(`path ${i + 1}: ${describePath(path)}`, () => playPath(spec, path));
  });
});
