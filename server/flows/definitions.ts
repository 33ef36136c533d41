import type { FlowDefinition } from '../../persistence/flow-definition';
import { mintDefinition } from './mint';
import { redemptionDefinition } from './redemption';

/** Every flow type this build runs (replay and view rebuilds need them all). */
export const FLOW_DEFINITIONS: FlowDefinition[] = [mintDefinition, redemptionDefinition];
