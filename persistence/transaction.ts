import type { Knex } from 'knex';

declare const txBrand: unique symbol;

/**
 * A database transaction as code outside persistence/ sees it: a handle to pass back to a store's
 * method so its writes commit with a flow's event (FlowHost's `within`), never something to query.
 */
export type Tx = { readonly [txBrand]: true };

export const asTx = (trx: Knex.Transaction): Tx => trx as unknown as Tx;
export const knexOf = (tx: Tx): Knex.Transaction => tx as unknown as Knex.Transaction;
