import { expect } from 'chai';
import { verify } from 'node:crypto';
import { AppleConfigError, signClientSecret } from '../lib/index.js';
import { clientKeyPair, decodeJwt } from './support/apple.js';

describe('client secret', () => {
  const { privateKey, publicKey } = clientKeyPair();
  const claims = { teamID: 'TEAM123456', keyID: 'KEY1234567', clientID: 'com.example.web' };

  it('is an ES256 JWT with kid, iss, sub, aud and whole-second iat/exp, 5 minutes by default', () => {
    const now = 1_700_000_000_123;
    const { header, payload } = decodeJwt(signClientSecret(privateKey, { ...claims, now }));
    expect(header).to.deep.equal({ alg: 'ES256', kid: 'KEY1234567', typ: 'JWT' });
    expect(payload).to.deep.equal({
      iss: 'TEAM123456',
      iat: 1_700_000_000,
      exp: 1_700_000_300,
      aud: 'https://appleid.apple.com',
      sub: 'com.example.web',
    });
  });

  it('carries a raw 64-byte r||s signature (not DER) that verifies with the public key', () => {
    const token = signClientSecret(privateKey, claims);
    const { signature } = decodeJwt(token);
    expect(signature.length).to.equal(64);
    const input = token.split('.').slice(0, 2).join('.');
    expect(verify('sha256', Buffer.from(input), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).to.equal(true);
  });

  it('is signed afresh each time', () => {
    expect(signClientSecret(privateKey, claims)).not.to.equal(signClientSecret(privateKey, claims));
  });

  it('takes a custom lifetime up to 15777000 s and refuses more', () => {
    const { payload } = decodeJwt(signClientSecret(privateKey, { ...claims, lifetime: 15777000, now: 0 }));
    expect(payload.exp).to.equal(15777000);
    expect(() => signClientSecret(privateKey, { ...claims, lifetime: 15777001 })).to.throw(AppleConfigError, /between 1 and 15777000/);
    expect(() => signClientSecret(privateKey, { ...claims, lifetime: 1.5 })).to.throw(AppleConfigError);
  });
});
