// A native sign-in end to end: the emulator plays Apple and the iOS app; AppleTokenStrategy
// verifies the identity token and redeems the code over real HTTP.
import { expect } from 'chai';
import express from 'express';
import { Passport } from 'passport';
import request from 'supertest';
import { AppleClient, AppleTokenStrategy, sha256Hex, type AppleProfile } from '../../lib/index.js';
import { createAppleEmulator, type AppleEmulator } from '../../lib/emulator/index.js';

describe('native sign-in against the emulator', function () {
  this.timeout(30_000);
  let apple: AppleEmulator;
  let app: express.Express;
  let strategy: AppleTokenStrategy;

  before(async () => {
    apple = await createAppleEmulator();
    const web = apple.strategyOptions({ callbackURL: 'http://localhost:3000/auth/apple/callback' });
    apple.registerClient({ clientID: 'com.example.app' });
    strategy = new AppleTokenStrategy(
      {
        clientIDs: ['com.example.app'],
        teamID: web.teamID,
        keyID: web.keyID,
        privateKey: web.privateKey,
        tokenURL: web.tokenURL,
        jwksURL: web.jwksURL,
        revokeURL: web.revokeURL,
        issuer: web.issuer,
      },
      (accessToken: string | undefined, refreshToken: string | undefined, profile: AppleProfile, done: (err: unknown, user?: unknown) => void) =>
        done(null, { id: profile.id, email: profile.email, name: profile.name, realUserStatus: profile.realUserStatus, accessToken, refreshToken }),
    );
    const passport = new Passport();
    passport.use(strategy);
    app = express();
    app.post('/auth/apple/native', express.json(), (req, res, next) =>
      passport.authenticate('apple-token', { session: false }, (err: Error | null, user: unknown, info: { code?: string } | undefined, status?: number) => {
        if (err) return res.status(500).json({ error: (err as { code?: string }).code });
        if (!user) return res.status(status ?? 401).json({ error: info?.code });
        res.json(user);
      })(req, res, next),
    );
  });

  after(async () => {
    await apple?.close();
  });

  it('signs in with the identity token and code, and the refresh token then refreshes and revokes', async () => {
    const raw = 'raw-nonce-0123456789';
    const credential = apple.issueIdentityToken({ clientID: 'com.example.app', nonce: sha256Hex(raw) });
    const res = await request(app)
      .post('/auth/apple/native')
      .send({ identityToken: credential.identityToken, authorizationCode: credential.authorizationCode, nonce: raw, user: credential.fullName });
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(credential.user);
    expect(res.body.email).to.equal(credential.email);
    expect(res.body.name).to.deep.equal(credential.fullName);
    expect(res.body.realUserStatus).to.equal(2);
    expect(res.body.refreshToken).to.be.a('string');

    const client = new AppleClient({ ...apple.strategyOptions({ callbackURL: 'http://localhost:3000/auth/apple/callback' }), clientID: 'com.example.app' });
    const refreshed = await client.refresh(res.body.refreshToken);
    expect(refreshed.access_token).to.be.a('string');
    expect(refreshed.refresh_token).to.equal(undefined);
    await client.revoke(res.body.refreshToken, { tokenTypeHint: 'refresh_token' });
    expect(apple.revocations.at(-1)).to.deep.include({ token: res.body.refreshToken, clientID: 'com.example.app', known: true });
    try {
      await client.refresh(res.body.refreshToken);
      throw new Error('refreshed a revoked token');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_TOKEN_INVALID_GRANT');
    }
  });

  it('refuses the raw nonce when the app hashed it, and a code used twice', async () => {
    const raw = 'raw-nonce-abcdef';
    const credential = apple.issueIdentityToken({ clientID: 'com.example.app', nonce: sha256Hex(raw) });
    const wrong = await request(app).post('/auth/apple/native').send({ identityToken: credential.identityToken, nonce: sha256Hex(raw) });
    expect(wrong.body).to.deep.equal({ error: 'ERR_ID_TOKEN_NONCE' });
    const first = await request(app).post('/auth/apple/native').send({ identityToken: credential.identityToken, authorizationCode: credential.authorizationCode, nonce: raw });
    expect(first.status).to.equal(200);
    const again = await request(app).post('/auth/apple/native').send({ identityToken: credential.identityToken, authorizationCode: credential.authorizationCode, nonce: raw });
    expect(again.status).to.equal(401);
    expect(again.body).to.deep.equal({ error: 'ERR_TOKEN_INVALID_GRANT' });
  });

  it('refuses a web sign-in token sent to the native endpoint', async () => {
    apple.registerClient({ clientID: 'com.example.web' });
    const web = apple.issueIdentityToken({ clientID: 'com.example.web', nonce: sha256Hex('n') });
    const res = await request(app).post('/auth/apple/native').send({ identityToken: web.identityToken, nonce: 'n' });
    expect(res.status).to.equal(401);
    expect(res.body).to.deep.equal({ error: 'ERR_ID_TOKEN_AUDIENCE' });
  });
});
