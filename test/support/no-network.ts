// Unit tests never touch the network: every call to Apple is answered by nock.
import nock from 'nock';

nock.disableNetConnect();

export const mochaHooks = {
  afterEach(): void {
    nock.cleanAll();
  },
};
