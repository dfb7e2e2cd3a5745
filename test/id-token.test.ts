import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { SignJWT } from 'jose';
import { AppleIdTokenError, AppleKeySet, verifyAppleJwt, type AppleJwtPolicy } from '../lib/index.js';
import { APPLE_ISSUERS, MAX_TOKEN_BYTES } from '../lib/id-token.js';
import { CLIENT_ID, appleSigningKey, jwksOf, nowSeconds, signIdToken, type AppleSigningKey } from './support/apple.js';

describe('verifyAppleJwt', () => {
  let key: AppleSigningKey;
  let policy: AppleJwtPolicy;

  before(async () => {
    key = await appleSigningKey();
  });

  beforeEach(() => {
    nock('https://appleid.apple.com').get('/auth/keys').reply(200, jwksOf(key)).persist();
    policy = { keys: new AppleKeySet(), issuers: APPLE_ISSUERS, audiences: [CLIENT_ID] };
  });

  async function rejection(token: unknown, p: Partial<AppleJwtPolicy> = {}): Promise<AppleIdTokenError> {
    try {
      await verifyAppleJwt(token, { ...policy, ...p });
    } catch (err) {
      expect(err).to.be.instanceOf(AppleIdTokenError);
      return err as AppleIdTokenError;
    }
    throw new Error('token was accepted');
  }

  it('returns the claims of a good token', async () => {
    const claims = await verifyAppleJwt(await signIdToken(key, { nonce: 'n-1' }), { ...policy, nonce: { values: ['n-1'] } });
    expect(claims.sub).to.equal('001234.abcdef0123456789abcdef0123456789.1234');
    expect(claims.email).to.equal('maria@example.com');
    expect(claims.nonce).to.equal('n-1');
  });

  it('accepts the newer issuer https://account.apple.com by default', async () => {
    const claims = await verifyAppleJwt(await signIdToken(key, { iss: 'https://account.apple.com' }), policy);
    expect(claims.iss).to.equal('https://account.apple.com');
  });

  it('refuses a missing token and an oversized one before parsing', async () => {
    expect((await rejection(undefined)).code).to.equal('ERR_ID_TOKEN_MISSING');
    expect((await rejection('a'.repeat(MAX_TOKEN_BYTES + 1))).code).to.equal('ERR_ID_TOKEN_TOO_LARGE');
  });

  it('refuses garbage as ERR_ID_TOKEN_MALFORMED', async () => {
    expect((await rejection('not.a.jwt')).code).to.equal('ERR_ID_TOKEN_MALFORMED');
    expect((await rejection('!!!')).code).to.equal('ERR_ID_TOKEN_MALFORMED');
  });

  it('refuses alg none and HS256 signed with the public key (algorithm confusion)', async () => {
    const payload = Buffer.from(JSON.stringify({ iss: APPLE_ISSUERS[0], aud: CLIENT_ID, sub: 'x', iat: nowSeconds(), exp: nowSeconds() + 60 })).toString('base64url');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    const none2 = await rejection(none);
    expect(none2.code).to.equal('ERR_ID_TOKEN_ALGORITHM');
    const hs = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(Buffer.from(JSON.stringify(key.publicJwk)));
    expect((await rejection(hs)).code).to.equal('ERR_ID_TOKEN_ALGORITHM');
  });

  it('refuses ES256 even from a known kid', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(ec);
    expect((await rejection(token)).code).to.equal('ERR_ID_TOKEN_ALGORITHM');
  });

  it('refuses a token whose payload was altered', async () => {
    const [h, , s] = (await signIdToken(key)).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: APPLE_ISSUERS[0], aud: CLIENT_ID, sub: 'admin', iat: nowSeconds(), exp: nowSeconds() + 60 })).toString('base64url');
    expect((await rejection(`${h}.${forged}.${s}`)).code).to.equal('ERR_ID_TOKEN_SIGNATURE');
  });

  it('refuses an unknown kid as ERR_ID_TOKEN_KEY_UNKNOWN', async () => {
    const other = await appleSigningKey('unknown-kid');
    const err = await rejection(await signIdToken(other));
    expect(err.code).to.equal('ERR_ID_TOKEN_KEY_UNKNOWN');
    expect(err.message).to.include('unknown-kid');
  });

  it('tolerates clock skew within clockTolerance and no further', async () => {
    const now = nowSeconds();
    await verifyAppleJwt(await signIdToken(key, { iat: now + 50, exp: now + 3600 }), policy);
    await verifyAppleJwt(await signIdToken(key, { iat: now - 3600, exp: now - 50 }), policy);
    expect((await rejection(await signIdToken(key, { iat: now + 50 }), { clockTolerance: 10 })).code).to.equal('ERR_ID_TOKEN_IAT_FUTURE');
    expect((await rejection(await signIdToken(key, { iat: now - 3600, exp: now - 70 }))).code).to.equal('ERR_ID_TOKEN_EXPIRED');
  });

  it('refuses a token older than maxAge', async () => {
    const err = await rejection(await signIdToken(key, { iat: nowSeconds() - 3600 }), { maxAge: 600 });
    expect(err.code).to.equal('ERR_ID_TOKEN_TOO_OLD');
    expect(err.claim).to.equal('iat');
  });

  it('accepts an array aud only with a matching azp', async () => {
    await verifyAppleJwt(await signIdToken(key, { aud: [CLIENT_ID], }), policy);
    await verifyAppleJwt(await signIdToken(key, { aud: [CLIENT_ID, 'com.other'], azp: CLIENT_ID }), policy);
    expect((await rejection(await signIdToken(key, { aud: [CLIENT_ID, 'com.other'] }))).code).to.equal('ERR_ID_TOKEN_AZP');
    expect((await rejection(await signIdToken(key, { aud: [CLIENT_ID, 'com.other'], azp: 'com.other' }))).code).to.equal('ERR_ID_TOKEN_AZP');
    expect((await rejection(await signIdToken(key, { aud: ['com.other'] }))).code).to.equal('ERR_ID_TOKEN_AUDIENCE');
    expect((await rejection(await signIdToken(key, { aud: 7 as unknown as string }))).code).to.equal('ERR_ID_TOKEN_AUDIENCE');
  });

  it('accepts any configured audience', async () => {
    const claims = await verifyAppleJwt(await signIdToken(key, { aud: 'com.example.ios' }), { ...policy, audiences: [CLIENT_ID, 'com.example.ios'] });
    expect(claims.aud).to.equal('com.example.ios');
  });

  it('checks the nonce: equal passes, different or missing fails, optional when not required', async () => {
    await verifyAppleJwt(await signIdToken(key, { nonce: 'abc' }), { ...policy, nonce: { values: ['zzz', 'abc'] } });
    expect((await rejection(await signIdToken(key, { nonce: 'abd' }), { nonce: { values: ['abc'] } })).code).to.equal('ERR_ID_TOKEN_NONCE');
    expect((await rejection(await signIdToken(key, { nonce: 5 }), { nonce: { values: ['5'] } })).code).to.equal('ERR_ID_TOKEN_NONCE');
    expect((await rejection(await signIdToken(key), { nonce: { values: ['abc'] } })).code).to.equal('ERR_ID_TOKEN_NONCE_MISSING');
    await verifyAppleJwt(await signIdToken(key), { ...policy, nonce: { values: ['abc'], required: false } });
  });

  it('allows a missing exp only when requireExp is false', async () => {
    const token = await signIdToken(key, {}, { omit: ['exp'] });
    expect((await rejection(token)).code).to.equal('ERR_ID_TOKEN_CLAIM_MISSING');
    const claims = await verifyAppleJwt(token, { ...policy, requireExp: false });
    expect(claims.exp).to.equal(undefined);
  });

  it('refuses an over-long or empty sub', async () => {
    expect((await rejection(await signIdToken(key, { sub: '' }))).claim).to.equal('sub');
    expect((await rejection(await signIdToken(key, { sub: 'x'.repeat(256) }))).claim).to.equal('sub');
  });
});
