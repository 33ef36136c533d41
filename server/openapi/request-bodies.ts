import { z, type ZodType } from 'zod';
import { mintConfirmBody, mintRequestBody } from '../schemas/mint';
import { addAssetBody, connectBody, haltBody, registerApBody, replaceWalletsBody, updateAssetBody } from '../schemas/registry';
import type { JsonSchema } from './building-blocks';

/**
 * The request schemas the handlers parse with, as JSON Schema 2020-12. `io: 'input'` describes what
 * a caller sends (before defaults and transforms); rules zod checks in code (refine, transform) have
 * no JSON Schema form, so each is restated next to its schema as `description` and, where JSON
 * Schema can say it, as a constraint.
 */
function fromZod(schema: ZodType, description: string, extra: JsonSchema = {}): JsonSchema {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { ...body, description, ...extra };
}

const exactlyOne = (fields: string[]): JsonSchema => ({ oneOf: fields.map((f) => ({ required: [f] })) });
const atLeastOne = (fields: string[]): JsonSchema => ({ anyOf: fields.map((f) => ({ required: [f] })) });

export const requestBodies: Record<string, JsonSchema> = {
  ConnectAccountRequest: fromZod(
    connectBody,
    'Links the AP registered under `email` to its Alpaca account. Exactly one of `client_account_number` or its legacy name `account`. Unknown fields are ignored.',
    exactlyOne(['client_account_number', 'account']),
  ),
  MintRequest: fromZod(
    mintRequestBody,
    [
      'Alpaca asks for a mint. `tokenization_request_id` (legacy `id`; both may be sent only with the same value) is the idempotency key of the whole mint.',
      'Exactly one client id: `client_external_account_id` (legacy `client_id`) or `client_account_id`.',
      '`qty` is a positive decimal string with at most 9 decimal places. Unknown fields are ignored.',
    ].join(' '),
    { allOf: [atLeastOne(['tokenization_request_id', 'id']), exactlyOne(['client_external_account_id', 'client_account_id', 'client_id'])] },
  ),
  MintConfirmRequest: fromZod(
    mintConfirmBody,
    'Alpaca reports the journal of a mint request. `tokenization_request_id` (legacy `id`) is required; a client id, when sent, must be the one of the mint request. Unknown fields are ignored.',
    atLeastOne(['tokenization_request_id', 'id']),
  ),
  RegisterApRequest: fromZod(registerApBody, 'An authorized participant and the wallets it mints to and redeems from.'),
  ReplaceWalletsRequest: fromZod(replaceWalletsBody, "The AP's complete wallet list (replaces the previous one)."),
  AddAssetRequest: fromZod(addAssetBody, 'A tokenized asset: the share token of one vault on one network.'),
  UpdateAssetRequest: fromZod(updateAssetBody, 'The fields to change; at least one.', { minProperties: 1 }),
  HaltAssetRequest: fromZod(haltBody, 'Why minting and redeeming this asset is halted.'),
};
