import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createAppleEmulator, type AppleEmulator, type AppleEmulatorStrategyOptions } from '../../lib/emulator/index.js';
import { CALLBACK, decodeHeader, json, request, secretFor, signIn } from './helpers.js';

describe('emulator keys and discovery', () => {
  let apple: AppleEmulator;
  let web: AppleEmulatorStrategyOptions;

  beforeEach(async () => {
    apple = await createAppleEmulator();
    web = apple.strategyOptions({ callbackURL: CALLBACK });
  });
  afterEach(() => apple.close());

  async function idToken(): Promise<string> {
    const { code } = await signIn(apple, web);
    const reply = await request(web.tokenURL, {
      form: { grant_type: 'authorization_code', code: code!, redirect_uri: CALLBACK, client_id: web.clientID, client_secret: secretFor(web) },
    });
    return json(reply).id_token as string;
  }

  async function jwks(): Promise<{ keys: Record<string, string>[] }> {
    return json(await request(web.jwksURL)) as { keys: Record<string, string>[] };
  }

  it('GET /auth/keys publishes RSA keys as Apple does', async () => {
    const { keys } = await jwks();
    expect(keys).to.have.length(1);
    expect(Object.keys(keys[0]!)).to.deep.equal(['kty', 'kid', 'use', 'alg', 'n', 'e']);
    expect(keys[0]).to.include({ kty: 'RSA', use: 'sig', alg: 'RS256', e: 'AQAB' });
    expect(keys[0]!.kid).to.match(/^[A-Za-z0-9]{7}$/);
    expect(Buffer.from(keys[0]!.n!, 'base64url')).to.have.length(256);
    expect(apple.stats.jwksFetches).to.equal(1);
  });

  it('rotateKeys makes a new kid the signer and keeps the previous key published', async () => {
    const before = await idToken();
    const oldKid = decodeHeader(before).kid;
    const newKid = apple.rotateKeys();
    expect(newKid).not.to.equal(oldKid);
    const { keys } = await jwks();
    expect(keys.map((k) => k.kid)).to.deep.equal([newKid, oldKid]);

    const after = await idToken();
    expect(decodeHeader(after)).to.deep.equal({ kid: newKid, alg: 'RS256' });
    const set = createLocalJWKSet({ keys });
    for (const token of [before, after]) {
      const { payload } = await jwtVerify(token, set, { algorithms: ['RS256'], issuer: apple.issuer, audience: web.clientID });
      expect(payload.sub).to.equal(apple.users[0]!.sub);
    }
  });

  it('publishes at most three keys, dropping the oldest', async () => {
    const first = (await jwks()).keys[0]!.kid;
    const kids = [apple.rotateKeys(), apple.rotateKeys(), apple.rotateKeys()];
    expect((await jwks()).keys.map((k) => k.kid)).to.deep.equal(kids.reverse());
    expect(kids).not.to.include(first);
  });

  it('GET /.well-known/openid-configuration describes the emulator', async () => {
    expect(json(await request(`${apple.url}/.well-known/openid-configuration`))).to.deep.equal({
      issuer: apple.url,
      authorization_endpoint: `${apple.url}/auth/authorize`,
      token_endpoint: `${apple.url}/auth/token`,
      revocation_endpoint: `${apple.url}/auth/revoke`,
      jwks_uri: `${apple.url}/auth/keys`,
      response_types_supported: ['code', 'code id_token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'name'],
      token_endpoint_auth_methods_supported: ['client_secret_post'],
      claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'is_private_email', 'iss', 'nonce', 'nonce_supported', 'real_user_status', 'sub', 'transfer_sub'],
    });
  });

  it('strategyOptions names the emulator endpoints and a PKCS#8 P-256 key', () => {
    expect(apple.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(apple.issuer).to.equal(apple.url);
    const { privateKey, ...rest } = web;
    expect(rest).to.deep.equal({
      clientID: 'com.example.web',
      teamID: 'EMUTEAM001',
      keyID: 'EMUKEY0001',
      callbackURL: CALLBACK,
      authorizationURL: `${apple.url}/auth/authorize`,
      tokenURL: `${apple.url}/auth/token`,
      jwksURL: `${apple.url}/auth/keys`,
      revokeURL: `${apple.url}/auth/revoke`,
      issuer: apple.url,
    });
    expect(privateKey).to.match(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const second = apple.strategyOptions({ callbackURL: 'https://app.example.com/other' });
    expect(second.privateKey).to.equal(privateKey);
    expect(apple.registerClient({ clientID: 'com.example.web' }).callbackURLs).to.deep.equal([CALLBACK, 'https://app.example.com/other']);
  });
});
