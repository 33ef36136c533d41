import { assign, cancel, raise, setup } from 'xstate';
import type { FlowModule } from '../../server/service';
import type { EffectAdapter } from '../../runtime/effect-adapter';

/**
 * A small flow used to test the host on its own: it counts, asks for one effect (a payout), and
 * expires on a durable timer. The real flows (mint, redemption) are tested elsewhere.
 */
export const payoutMachine = setup({
  types: {
    context: {} as { total: number; expiresInMs: number; paidRef?: string; failure?: string },
    input: {} as { expiresInMs: number },
    events: {} as
      | { type: 'ADD'; amount: number }
      | { type: 'PAY' }
      | { type: 'PAYOUT_SENT'; ref: string }
      | { type: 'PAYOUT_FAILED'; error: string }
      | { type: 'EXPIRED' },
  },
  actions: {
    sendPayout: (_: unknown, _params: { total: number }) => undefined,
  },
  delays: { expiry: ({ context }) => context.expiresInMs },
}).createMachine({
  id: 'payout',
  context: ({ input }) => ({ total: 0, expiresInMs: input.expiresInMs }),
  initial: 'open',
  states: {
    open: {
      entry: raise({ type: 'EXPIRED' }, { delay: 'expiry', id: 'expiry' }),
      exit: cancel('expiry'),
      on: {
        ADD: { actions: assign({ total: ({ context, event }) => context.total + event.amount }) },
        PAY: { target: 'paying', guard: ({ context }) => context.total > 0 },
        EXPIRED: 'expired',
      },
    },
    paying: {
      entry: { type: 'sendPayout', params: ({ context }) => ({ total: context.total }) },
      on: {
        PAYOUT_SENT: { target: 'paid', actions: assign({ paidRef: ({ event }) => event.ref }) },
        PAYOUT_FAILED: { target: 'payoutFailed', actions: assign({ failure: ({ event }) => event.error }) },
      },
    },
    payoutFailed: { tags: ['needsOperator'] },
    paid: { type: 'final' },
    expired: { type: 'final' },
  },
});

export interface PayoutProbe {
  calls: Array<{ effectId: string; total: number }>;
  failuresLeft: number;
}

export function payoutModule(probe: PayoutProbe, maxAttempts = 3): FlowModule {
  const adapter: EffectAdapter<{ total: number }> = {
    retry: { baseMs: 10, capMs: 40, maxAttempts },
    async run(params, ctx) {
      probe.calls.push({ effectId: ctx.effectId, total: params.total });
      if (probe.failuresLeft > 0) {
        probe.failuresLeft--;
        throw new Error('payout service unavailable');
      }
      return { type: 'PAYOUT_SENT', ref: `ref-${ctx.effectId}` };
    },
    failed: (error) => ({ type: 'PAYOUT_FAILED', error: error.message }),
  };
  return {
    definition: {
      type: 'payout',
      machine: payoutMachine,
      version: 'payout@1',
      views: ['payout_view'],
      project: async (trx, flow) => {
        await trx('payout_view').insert({ flow_id: flow.flowId, state: flow.state, total: flow.snapshot.context.total }).onConflict('flow_id').merge();
      },
    },
    effects: () => ({ sendPayout: adapter }),
  };
}
