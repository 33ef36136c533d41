import assert from 'node:assert/strict';
import { AlpacaApiError, isRetryableStatus } from '../../alpaca/errors';

describe('AlpacaApiError classification', () => {
  it('retries network errors, timeouts, 408, 429 and 5xx; not other 4xx or refused requests', () => {
    const cases: Array<[ConstructorParameters<typeof AlpacaApiError>[1], boolean]> = [
      [{ status: 0 }, true],
      [{ status: 0, kind: 'timeout' }, true],
      [{ status: 0, kind: 'auth' }, true],
      [{ status: 408 }, true],
      [{ status: 429 }, true],
      [{ status: 500 }, true],
      [{ status: 503 }, true],
      [{ status: 400 }, false],
      [{ status: 401 }, false],
      [{ status: 403 }, false],
      [{ status: 404 }, false],
      [{ status: 409 }, false],
      [{ status: 422 }, false],
      [{ status: 401, kind: 'auth' }, false],
      [{ status: 0, kind: 'invalid_request' }, false],
      [{ status: 200, kind: 'invalid_response' }, false],
      [{ status: 401, retryable: true }, true],
    ];
    for (const [init, retryable] of cases) assert.equal(new AlpacaApiError('x', init).retryable, retryable, JSON.stringify(init));
    assert.deepEqual([407, 408, 428, 429, 499, 500, 599].map(isRetryableStatus), [false, true, false, true, false, true, true]);
  });

  it('defaults the kind from the status and keeps the Alpaca code', () => {
    const err = new AlpacaApiError('m', { status: 422, alpacaCode: 42210001 });
    assert.deepEqual([err.kind, err.alpacaCode, err.name, err instanceof Error], ['http', 42210001, 'AlpacaApiError', true]);
    assert.equal(new AlpacaApiError('m', { status: 0 }).kind, 'network');
  });
});
