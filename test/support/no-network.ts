// Unit tests never touch the network: every call to Apple is answered by nock. Only loopback,
// where supertest runs the test apps, is let through.
import nock from 'nock';

nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

export const mochaHooks = {
  afterEach(): void {
    nock.cleanAll();
  },
};
