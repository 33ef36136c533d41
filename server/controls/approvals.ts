import type { AnyMachineSnapshot } from 'xstate';
import { DomainError } from '../../core/errors';
import { isSameApprover, type MintContext } from '../../machines/mint';

/** Four eyes: the operator who gave a mint's first approval asked to give the second too. Nothing was written. */
export class SameOperatorCannotApproveError extends DomainError {
  constructor(state: string, approvedBy: string) {
    super('same_operator_cannot_approve', `${approvedBy} already approved this mint; a different operator must give the second approval`, { state, event: 'OPERATOR_APPROVE', approved_by: approvedBy });
  }
}

/** Says why the mint machine refused an event when its generic refusal would not (see FlowDefinition.explainRefusal). */
export function explainMintRefusal(snapshot: AnyMachineSnapshot, event: { type: string; operator?: unknown }): DomainError | undefined {
  const context = snapshot.context as MintContext;
  if (event.type !== 'OPERATOR_APPROVE' || !snapshot.matches({ awaitingApproval: 'endorsed' }) || context.approvedBy === undefined) return undefined;
  if (!isSameApprover(context, { operator: typeof event.operator === 'string' ? event.operator : undefined })) return undefined;
  return new SameOperatorCannotApproveError('awaitingApproval.endorsed', context.approvedBy);
}
