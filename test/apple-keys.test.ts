import { expect } from 'chai';
import nock from 'nock';
import { AppleKeySet, AppleKeysError, verifyAppleJwt } from '../lib/index.js';
import { APPLE_ISSUERS } from '../lib/id-token.js';
import { CLIENT_ID, appleSigningKey, jwksOf, signIdToken, type AppleSigningKey } from './support/apple.js';
import { codeOf } from './support/outcome.js';

describe('AppleKeySet', () => {
  let k1: AppleSigningKey;
  let k2: AppleSigningKey;
  before(async () => {
    k1 = await appleSigningKey('k1');
    k2 = await appleSigningKey('k2');
  });
  const apple = () => nock('https://appleid.apple.com');
  const check = (keys: AppleKeySet, token: string) => verifyAppleJwt(token, { keys, issuers: APPLE_ISSUERS, audiences: [CLIENT_ID] });


  it('shares one fetch between concurrent verifications', async () => {
    const scope = apple().get('/auth/keys').once().delay(50).reply(200, jwksOf(k1));
    const keys = new AppleKeySet();
    const token = await signIdToken(k1);
    await Promise.all([check(keys, token), check(keys, token), check(keys, token)]);
    expect(scope.isDone()).to.equal(true);
    expect(keys.fetchCount).to.equal(1);
  });

  it('refetches on an unknown kid, when Apple rotated its keys', async () => {
    apple().get('/auth/keys').reply(200, jwksOf(k1));
    apple().get('/auth/keys').reply(200, jwksOf(k1, k2));
    const keys = new AppleKeySet();
    await check(keys, await signIdToken(k1));
    const claims = await check(keys, await signIdToken(k2));
    expect(claims.sub).to.be.a('string');
    expect(keys.fetchCount).to.equal(2);
  });

  it('refetches for unknown kids at most once per cooldown', async () => {
    apple().get('/auth/keys').times(2).reply(200, jwksOf(k1));
    const keys = new AppleKeySet(undefined, { cooldown: 60_000 });
    await check(keys, await signIdToken(k1));
    const forged = await signIdToken(await appleSigningKey('random-kid'));
    for (let i = 0; i < 5; i++) expect(await codeOf(check(keys, forged))).to.equal('ERR_ID_TOKEN_KEY_UNKNOWN');
    expect(keys.fetchCount).to.equal(2);
  });

  it('keeps serving known keys while the key endpoint is down', async () => {
    apple().get('/auth/keys').reply(200, jwksOf(k1));
    apple().get('/auth/keys').times(10).reply(500, 'down');
    const keys = new AppleKeySet(undefined, { maxAge: 0, cooldown: 0, failureBackoff: 60_000 });
    const token = await signIdToken(k1);
    await check(keys, token);
    for (let i = 0; i < 5; i++) expect(await codeOf(check(keys, token))).to.equal('resolved');
    // One refresh attempt failed, then the back-off held every later login off the endpoint.
    expect(keys.fetchCount).to.equal(2);
  });

  it('without any keys, fails with ERR_JWKS_UNAVAILABLE and backs off instead of hammering Apple', async () => {
    apple().get('/auth/keys').times(10).reply(503, 'down');
    const keys = new AppleKeySet(undefined, { failureBackoff: 60_000 });
    const token = await signIdToken(k1);
    for (let i = 0; i < 5; i++) expect(await codeOf(check(keys, token))).to.equal('ERR_JWKS_UNAVAILABLE');
    expect(keys.fetchCount).to.equal(1);
  });

  it('treats a non-JSON or keyless answer as unavailable, with the reason', async () => {
    apple().get('/auth/keys').reply(200, '<html></html>');
    const keys = new AppleKeySet();
    try {
      await check(keys, await signIdToken(k1));
      throw new Error('resolved');
    } catch (err) {
      expect(err).to.be.instanceOf(AppleKeysError);
      expect((err as Error).message).to.include('HTTP 200, not JSON');
    }
  });

  it('gives up on a slow key endpoint after the timeout', async () => {
    apple().get('/auth/keys').delay(1000).reply(200, jwksOf(k1));
    const keys = new AppleKeySet(undefined, { timeout: 100 });
    expect(await codeOf(check(keys, await signIdToken(k1)))).to.equal('ERR_JWKS_UNAVAILABLE');
  });
});

describe('AppleKeySet with aged keys and a hanging endpoint', () => {
  it('answers from the cached keys at once and refreshes in the background', async () => {
    const k = await appleSigningKey('k-aged');
    nock('https://appleid.apple.com').get('/auth/keys').reply(200, jwksOf(k));
    nock('https://appleid.apple.com').get('/auth/keys').delay(3000).reply(200, jwksOf(k));
    const keys = new AppleKeySet(undefined, { maxAge: 0, cooldown: 0, timeout: 5000 });
    const token = await signIdToken(k);
    const check = () => verifyAppleJwt(token, { keys, issuers: APPLE_ISSUERS, audiences: [CLIENT_ID] });
    await check();
    const started = Date.now();
    await check();
    expect(Date.now() - started).to.be.below(1000);
    expect(keys.fetchCount).to.equal(2);
  });
});
