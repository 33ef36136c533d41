import type { AlpacaClient } from '../../alpaca/client';
import { redemptionAlpacaEffects } from '../../alpaca/redemption-effects';
import type { ChainConnection } from '../../chain/chain-connection';
import { redemptionChainEffects } from '../../chain/redemption-effects';
import type { FlowDefinition } from '../../persistence/flow-definition';
import { REDEMPTION_MACHINE_VERSION, type RedemptionEffect, redemptionMachine } from '../../machines/redemption';
import { projectRedemption, REDEMPTION_VIEWS } from '../../persistence/views/redemption-view';
import type { Database } from '../../persistence/database';
import type { MachineEffectAdapters } from '../../runtime/effect-adapter';
import type { FlowModule } from '../service';

export const redemptionDefinition: FlowDefinition = { type: 'redemption', machine: redemptionMachine, version: REDEMPTION_MACHINE_VERSION, project: projectRedemption, views: REDEMPTION_VIEWS };

export interface RedemptionSettings {
  confirmWaitMs: number;
  confirmAttempts: number;
  submitAttempts: number;
  alpacaRetry: { baseMs: number; capMs: number; maxAttempts: number };
}

export const DEFAULT_REDEMPTION_SETTINGS: RedemptionSettings = {
  confirmWaitMs: 15_000,
  confirmAttempts: 240,
  submitAttempts: 60, // with the 30 s cap: about half an hour of node outage before an operator is asked
  alpacaRetry: { baseMs: 1_000, capMs: 60_000, maxAttempts: 30 }, // about 25 minutes of Alpaca outage
};

/** The redemption flow: started by the transfer poller, never by HTTP. */
export function redemptionModule(chains: Map<string, ChainConnection>, alpaca: AlpacaClient, settings: RedemptionSettings = DEFAULT_REDEMPTION_SETTINGS): FlowModule {
  return {
    definition: redemptionDefinition,
    effects: ({ db }) => redemptionEffectAdapters(db, chains, alpaca, settings),
  };
}

/** One adapter per effect of the redemption machine, typed by the machine: its params in, its events out. */
export function redemptionEffectAdapters(db: Database, chains: Map<string, ChainConnection>, alpaca: AlpacaClient, settings: RedemptionSettings): MachineEffectAdapters<typeof redemptionMachine, RedemptionEffect> {
  return {
    ...redemptionChainEffects(db, chains, settings),
    ...redemptionAlpacaEffects(alpaca, settings.alpacaRetry),
  };
}
