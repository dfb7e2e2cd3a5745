import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { signClientSecret } from '../../lib/index.js';
import { createAppleEmulator, type AppleEmulator, type AppleEmulatorClient } from '../../lib/emulator/index.js';
import { CALLBACK, halfHash, json, request, secretFor } from './helpers.js';

describe('emulator native sign-in (issueIdentityToken)', () => {
  let apple: AppleEmulator;
  let ios: AppleEmulatorClient;
  const BUNDLE = 'com.example.ios';

  beforeEach(async () => {
    apple = await createAppleEmulator();
    ios = apple.registerClient({ clientID: BUNDLE });
  });
  afterEach(() => apple.close());

  function redeem(code: string, extra: Record<string, string> = {}) {
    const secret = signClientSecret(createPrivateKey(ios.privateKey!), { teamID: ios.teamID, keyID: ios.keyID, clientID: BUNDLE });
    return request(`${apple.url}/auth/token`, {
      form: { grant_type: 'authorization_code', code, client_id: BUNDLE, client_secret: secret, ...extra },
    });
  }

  it('gives an identity token for the bundle ID with c_hash, email and real_user_status 2 on first sign-in', async () => {
    const nonce = createHash('sha256').update('raw-nonce').digest('hex');
    const issued = apple.issueIdentityToken({ clientID: BUNDLE, nonce });
    const maria = apple.users[0]!;
    expect(issued.user).to.equal(maria.sub);
    expect(issued.email).to.equal('maria.ruiz@example.com');
    expect(issued.fullName).to.deep.equal({ givenName: 'Maria', familyName: 'Ruiz' });
    const { payload } = await jwtVerify(issued.identityToken, createRemoteJWKSet(new URL(`${apple.url}/auth/keys`)), {
      algorithms: ['RS256'],
      issuer: apple.issuer,
      audience: BUNDLE,
    });
    expect(payload).to.deep.equal({
      iss: apple.url,
      aud: BUNDLE,
      exp: payload.iat! + 86400,
      iat: payload.iat,
      sub: maria.sub,
      nonce,
      c_hash: halfHash(issued.authorizationCode),
      email: 'maria.ruiz@example.com',
      email_verified: 'true',
      is_private_email: 'false',
      auth_time: payload.iat,
      nonce_supported: true,
      real_user_status: 2,
    });

    const again = apple.issueIdentityToken({ clientID: BUNDLE });
    expect([again.email, again.fullName]).to.deep.equal([null, null]);
    const claims = JSON.parse(Buffer.from(again.identityToken.split('.')[1]!, 'base64url').toString());
    expect(claims.real_user_status).to.equal(undefined);
    expect(claims.email).to.equal('maria.ruiz@example.com');
  });

  it('takes another test user by sub, an ad hoc user, Hide My Email and another real_user_status', () => {
    const john = apple.users[1]!;
    expect(apple.issueIdentityToken({ clientID: BUNDLE, sub: john.sub }).user).to.equal(john.sub);
    const ann = apple.issueIdentityToken({ clientID: BUNDLE, user: { email: 'ann@example.org', firstName: 'Ann', lastName: 'Lee' }, hideEmail: true, realUserStatus: 1 });
    const claims = JSON.parse(Buffer.from(ann.identityToken.split('.')[1]!, 'base64url').toString());
    expect(claims.email).to.equal(apple.relayEmail(ann.user, BUNDLE));
    expect(claims.is_private_email).to.equal('true');
    expect(claims.real_user_status).to.equal(1);
    expect(() => apple.issueIdentityToken({ clientID: 'com.example.unregistered' })).to.throw(/Unknown clientID "com.example.unregistered"/);
    expect(() => apple.issueIdentityToken({ clientID: BUNDLE, sub: 'nobody' })).to.throw(/No emulator user has the sub "nobody"/);
  });

  it('the code is redeemed with client_id = bundle ID and no redirect_uri', async () => {
    const issued = apple.issueIdentityToken({ clientID: BUNDLE, nonce: 'n-native' });
    const reply = await redeem(issued.authorizationCode);
    expect(reply.status).to.equal(200);
    const body = json(reply);
    expect(body.refresh_token).to.be.a('string');
    const { payload } = await jwtVerify(body.id_token as string, createRemoteJWKSet(new URL(`${apple.url}/auth/keys`)), {
      algorithms: ['RS256'],
      issuer: apple.issuer,
      audience: BUNDLE,
    });
    expect(payload.at_hash).to.equal(halfHash(body.access_token as string));
    expect(payload.email).to.equal('maria.ruiz@example.com');
    expect(payload.nonce).to.equal('n-native');
    expect(payload.real_user_status).to.equal(undefined);
  });

  it('refuses the native code with a redirect_uri (invalid_grant) or with the Services ID', async () => {
    const web = apple.strategyOptions({ callbackURL: CALLBACK });
    const issued = apple.issueIdentityToken({ clientID: BUNDLE });
    const withRedirect = await redeem(issued.authorizationCode, { redirect_uri: CALLBACK });
    expect(withRedirect.status).to.equal(400);
    expect(json(withRedirect)).to.deep.equal({ error: 'invalid_grant', error_description: 'This code was issued to an app: redeem it without redirect_uri.' });
    const asWeb = await request(web.tokenURL, {
      form: { grant_type: 'authorization_code', code: issued.authorizationCode, client_id: web.clientID, client_secret: secretFor(web) },
    });
    expect(json(asWeb)).to.deep.equal({ error: 'invalid_grant', error_description: 'client_id mismatch. The code was not issued to com.example.web.' });
    expect((await redeem(issued.authorizationCode)).status).to.equal(200);
  });

  it('registerClient accepts an app key of its own', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const own = apple.registerClient({ clientID: 'com.example.watch', teamID: 'TEAMWATCH1', keyID: 'KEYWATCH01', publicKey });
    expect(own).to.deep.equal({ clientID: 'com.example.watch', teamID: 'TEAMWATCH1', keyID: 'KEYWATCH01', callbackURLs: [], privateKey: undefined });
    const issued = apple.issueIdentityToken({ clientID: 'com.example.watch' });
    const secret = signClientSecret(privateKey, { teamID: 'TEAMWATCH1', keyID: 'KEYWATCH01', clientID: 'com.example.watch' });
    const reply = await request(`${apple.url}/auth/token`, {
      form: { grant_type: 'authorization_code', code: issued.authorizationCode, client_id: 'com.example.watch', client_secret: secret },
    });
    expect(reply.status).to.equal(200);
    expect(() => apple.strategyOptions({ clientID: 'com.example.watch', callbackURL: CALLBACK })).to.throw(/no private key to hand out/);
  });
});

