import type { ChainConnection } from '../../chain/chain-connection';
import { mintEffects } from '../../chain/mint-effects';
import type { AlpacaClient } from '../../alpaca/client';
import { mintCallbackEffect } from '../../alpaca/mint-callback-effect';
import { explainMintRefusal, MINT_MACHINE_VERSION, type MintEffect, mintMachine } from '../../machines/mint';
import { MINT_VIEWS, projectMint } from '../../persistence/views/mint-view';
import { mintRoutes } from '../routes/mint';
import type { FlowModule } from '../service';
import type { FlowDefinition } from '../../persistence/flow-definition';
import { MintAdmission } from '../controls/mint-admission';
import type { MachineEffectAdapters } from '../../runtime/effect-adapter';

export interface MintSettings {
  journalTimeoutMs: number;
  /** How long one confirmation check waits before handing the row back to the outbox. */
  confirmWaitMs: number;
  confirmAttempts: number;
  submitAttempts: number;
  callbackRetry: { baseMs: number; capMs: number; maxAttempts: number };
}

export const DEFAULT_MINT_SETTINGS: MintSettings = {
  journalTimeoutMs: 60 * 60 * 1000,
  confirmWaitMs: 15_000,
  confirmAttempts: 240,
  submitAttempts: 60, // with the 30 s cap: about half an hour of node outage before an operator is asked
  callbackRetry: { baseMs: 1_000, capMs: 60_000, maxAttempts: 30 }, // about 25 minutes of Alpaca outage
};

export const mintDefinition: FlowDefinition = { type: 'mint', machine: mintMachine, version: MINT_MACHINE_VERSION, project: projectMint, views: MINT_VIEWS, explainRefusal: explainMintRefusal };

/** The mint flow: its machine, its view, the effects it asks for, and its Alpaca-facing routes. */
export function mintModule(chains: Map<string, ChainConnection>, alpaca: AlpacaClient, settings: MintSettings = DEFAULT_MINT_SETTINGS): FlowModule {
  return {
    definition: mintDefinition,
    effects: () => mintEffectAdapters(chains, alpaca, settings),
    routes: (parts) => [mintRoutes({ ...parts, admission: new MintAdmission(parts.db, parts.clock, parts.reader) }, { journalTimeoutMs: settings.journalTimeoutMs })],
  };
}

/** One adapter per effect of the mint machine, typed by the machine: its params in, its events out. */
export function mintEffectAdapters(chains: Map<string, ChainConnection>, alpaca: AlpacaClient, settings: MintSettings): MachineEffectAdapters<typeof mintMachine, MintEffect> {
  return {
    ...mintEffects(chains, settings),
    notifyAlpacaOfMint: mintCallbackEffect(alpaca, settings.callbackRetry),
  };
}
