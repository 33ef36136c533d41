import { apiConformance } from './api-conformance';

/**
 * Mocha root hooks (loaded through `.mocharc.json`'s `require`). After the whole suite, every
 * response the test services produced must have matched the OpenAPI document; the run fails
 * otherwise, listing each mismatch.
 */
export const mochaHooks = {
  afterAll(): void {
    console.log(`\n${apiConformance.summary()}`);
    const failure = apiConformance.verdict();
    if (failure) throw new Error(failure);
  },
};
