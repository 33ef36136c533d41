/**
 * The layers of the source, bottom up. A folder may import its own files and any folder of a lower
 * rank; never one of the same rank (siblings stay apart) or of a higher one. `test/architecture`
 * holds the tree to this; `npm run architecture` draws it into docs/architecture.md.
 */
export const LAYERS: ReadonlyArray<{ folder: string; rank: number; holds: string }> = [
  { folder: 'core', rank: 0, holds: 'amounts, clock, ids, networks, quantities, the error catalogue: no project imports' },
  { folder: 'machines', rank: 1, holds: 'the flow machines: states, events, guards, named actions, tags (xstate and core only)' },
  { folder: 'persistence', rank: 2, holds: 'the only code that touches a table: one store per table family, migrations, replay' },
  { folder: 'runtime', rank: 3, holds: 'flow host, outbox runner, timer scheduler, the poll loop, live inspection' },
  { folder: 'domain', rank: 3, holds: "the domain's admission decisions: admitMint, admitTransfer (pure)" },
  { folder: 'chain', rank: 4, holds: 'EVM adapter: vault codec, transaction manager, block watcher, transfer poller, chain effects' },
  { folder: 'alpaca', rank: 4, holds: 'Alpaca adapter: the outbound client, its effects, the fake Alpaca' },
  { folder: 'server', rank: 5, holds: 'Koa: auth, routes as short lists of named steps, console, metrics; wires the service' },
  { folder: 'cli', rank: 6, holds: 'the issuance-bot command: operator calls, replay and rebuild' },
  { folder: 'tools', rank: 7, holds: 'developer tools: diagrams, this import graph' },
];

/** Folders outside the layers that may import any of them (they are not shipped code). */
export const ABOVE_ALL = ['test', 'bench'];
