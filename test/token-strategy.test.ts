import { expect } from 'chai';
import { MemoryReplayStore } from '../lib/replay-store.js';
import { verify as verifySignature } from 'node:crypto';
import express from 'express';
import nock from 'nock';
import { Passport } from 'passport';
import request from 'supertest';
import type { Request } from 'express';
import { AppleTokenStrategy, type AppleTokenStrategyOptions, type AppleTokenStrategyParams } from '../lib/token-strategy.js';
import { AppleCallbackError, AppleConfigError, AppleIdTokenError, AppleKeysError, AppleTokenError, AppleUpstreamError } from '../lib/errors.js';
import { sha256Hex } from '../lib/id-token.js';
import type { AppleProfile } from '../lib/profile.js';
import type { AppleVerifyCallback } from '../lib/strategy.js';
import { appleSigningKey, clientKeyPair, decodeJwt, jwksOf, KEY_ID, nowSeconds, signIdToken, TEAM_ID, type AppleSigningKey } from './support/apple.js';

const APPLE = 'https://appleid.apple.com';
const IPHONE_APP = 'com.example.app';
const WATCH_APP = 'com.example.app.watchkitapp';
const WEB_SERVICE = 'com.example.web';
const SUB = '001234.abcdef0123456789abcdef0123456789.1234';
const RAW_NONCE = 'Xp3v-raw-nonce-from-the-app-0123456789';

type Outcome =
  | { kind: 'success'; user: unknown; info: unknown }
  | { kind: 'fail'; challenge: unknown; status: number | undefined }
  | { kind: 'error'; err: unknown };

interface VerifyCall {
  accessToken: string | undefined;
  refreshToken: string | undefined;
  params: AppleTokenStrategyParams;
  profile: AppleProfile;
}

/** Runs one authenticate() as Passport would, by giving a copy of the strategy its actions. */
function run(strategy: AppleTokenStrategy, req: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = Object.create(strategy) as AppleTokenStrategy;
    s.success = (user, info) => resolve({ kind: 'success', user, info });
    s.fail = (challenge, status) => resolve({ kind: 'fail', challenge, status });
    s.error = (err) => resolve({ kind: 'error', err });
    s.authenticate(req as Request);
  });
}

/** A request whose body a JSON parser already read. */
function jsonRequest(body: Record<string, unknown>): unknown {
  return { method: 'POST', url: '/auth/apple/native', headers: { 'content-type': 'application/json' }, body };
}

function expectFail(outcome: Outcome, status: number, code: string): AppleIdTokenError | AppleCallbackError | AppleTokenError {
  expect(outcome.kind, JSON.stringify(outcome)).to.equal('fail');
  const { challenge, status: actual } = outcome as Extract<Outcome, { kind: 'fail' }>;
  expect(actual).to.equal(status);
  expect(challenge).to.have.property('code', code);
  return challenge as AppleIdTokenError;
}

describe('AppleTokenStrategy (apple-token)', () => {
  let apple: AppleSigningKey;
  let stranger: AppleSigningKey;
  const client = clientKeyPair();
  const base = { teamID: TEAM_ID, keyID: KEY_ID, privateKey: client.pem };

  before(async () => {
    apple = await appleSigningKey('apple-key-1');
    stranger = await appleSigningKey('apple-key-1');
  });

  function serveKeys(): nock.Scope {
    return nock(APPLE).get('/auth/keys').reply(200, jwksOf(apple));
  }

  /** An identity token as an iOS app gets it: aud = bundle ID, nonce = sha256hex(raw). */
  function identityToken(claims: Record<string, unknown> = {}, options: { omit?: string[]; key?: AppleSigningKey } = {}): Promise<string> {
    return signIdToken(options.key ?? apple, { aud: IPHONE_APP, nonce: sha256Hex(RAW_NONCE), real_user_status: 2, ...claims }, { omit: options.omit });
  }

  function strategy(options: Partial<AppleTokenStrategyOptions> = {}, calls: VerifyCall[] = []): AppleTokenStrategy {
    return new AppleTokenStrategy({ ...base, clientID: IPHONE_APP, ...options } as AppleTokenStrategyOptions & { passReqToCallback?: false }, (accessToken: string | undefined, refreshToken: string | undefined, params: AppleTokenStrategyParams, profile: AppleProfile, done: AppleVerifyCallback) => {
      calls.push({ accessToken, refreshToken, params, profile });
      done(null, { id: profile.id });
    });
  }

  describe('construction', () => {
    it('is named apple-token', () => {
      expect(strategy().name).to.equal('apple-token');
    });

    it('merges clientID and clientIDs into the accepted audiences', () => {
      expect(strategy({ clientID: IPHONE_APP, clientIDs: [WATCH_APP, IPHONE_APP] }).clientIDs).to.deep.equal([IPHONE_APP, WATCH_APP]);
    });

    it('needs a client ID', () => {
      expect(() => strategy({ clientID: undefined })).to.throw(AppleConfigError, /clientID/);
    });

    it('refuses an unknown nonceEncoding and a non-positive maxAge', () => {
      expect(() => strategy({ nonceEncoding: 'md5' as never })).to.throw(AppleConfigError, /nonceEncoding/);
      expect(() => strategy({ maxAge: 0 })).to.throw(AppleConfigError, /maxAge/);
    });
  });

  describe('identity token audience', () => {
    for (const aud of [IPHONE_APP, WATCH_APP, WEB_SERVICE]) {
      it(`accepts a token for configured audience ${aud}, with undefined tokens and params { id_token } without a code`, async () => {
        serveKeys();
        const calls: VerifyCall[] = [];
        const token = await identityToken({ aud });
        const outcome = await run(strategy({ clientID: undefined, clientIDs: [IPHONE_APP, WATCH_APP, WEB_SERVICE] }, calls), jsonRequest({ identityToken: token, nonce: RAW_NONCE }));
        expect(outcome).to.deep.equal({ kind: 'success', user: { id: SUB }, info: undefined });
        expect(calls).to.have.length(1);
        expect(calls[0]!.accessToken).to.equal(undefined);
        expect(calls[0]!.refreshToken).to.equal(undefined);
        expect(calls[0]!.params).to.deep.equal({ id_token: token });
        expect(calls[0]!.profile.id).to.equal(SUB);
        expect(calls[0]!.profile._json.aud).to.equal(aud);
        expect(calls[0]!.profile.realUserStatus).to.equal(2);
      });
    }

    it('with a replayStore, accepts each identity token once', async () => {
      serveKeys();
      const token = await identityToken({});
      const s = strategy({ replayStore: new MemoryReplayStore() });
      const first = await run(s, jsonRequest({ identityToken: token, nonce: RAW_NONCE }));
      expect(first.kind).to.equal('success');
      expectFail(await run(s, jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_NATIVE_TOKEN_REPLAYED');
      const other = await run(s, jsonRequest({ identityToken: await identityToken({ auth_time: 1 }), nonce: RAW_NONCE }));
      expect(other.kind).to.equal('success');
    });

    it('without a replayStore, the same request signs in again until maxAge (documented)', async () => {
      serveKeys();
      const token = await identityToken({});
      const s = strategy();
      expect((await run(s, jsonRequest({ identityToken: token, nonce: RAW_NONCE }))).kind).to.equal('success');
      expect((await run(s, jsonRequest({ identityToken: token, nonce: RAW_NONCE }))).kind).to.equal('success');
    });

    it('refuses an Apple-signed token for an app it is not configured for', async () => {
      serveKeys();
      const calls: VerifyCall[] = [];
      const token = await identityToken({ aud: 'com.other.app' });
      const err = expectFail(await run(strategy({ clientIDs: [WATCH_APP] }, calls), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_AUDIENCE');
      expect(err).to.be.instanceOf(AppleIdTokenError);
      expect(err.message).to.include('com.other.app');
      expect(calls).to.have.length(0);
    });

    it('refuses a web (Services ID) token when only the app is configured', async () => {
      serveKeys();
      const token = await identityToken({ aud: WEB_SERVICE });
      expectFail(await run(strategy(), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_AUDIENCE');
    });

    it('refuses a token with Apple\'s kid signed by another key', async () => {
      serveKeys();
      const token = await identityToken({}, { key: stranger });
      expectFail(await run(strategy(), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_SIGNATURE');
    });

    it('refuses a token with several audiences unless azp names a configured one', async () => {
      serveKeys();
      const token = await identityToken({ aud: [IPHONE_APP, 'com.other.app'], azp: 'com.other.app' });
      expectFail(await run(strategy(), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_AZP');
    });
  });

  describe('nonce', () => {
    it('accepts the token when its nonce is sha256hex of the raw nonce sent (the default)', async () => {
      serveKeys();
      const outcome = await run(strategy(), jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE }));
      expect(outcome.kind).to.equal('success');
    });

    it('refuses a raw nonce in the token by default', async () => {
      serveKeys();
      const token = await identityToken({ nonce: RAW_NONCE });
      expectFail(await run(strategy(), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_NONCE');
    });

    it('accepts a raw nonce with nonceEncoding "raw", and then refuses the hashed one', async () => {
      serveKeys();
      const raw = await identityToken({ nonce: RAW_NONCE });
      expect((await run(strategy({ nonceEncoding: 'raw' }), jsonRequest({ identityToken: raw, nonce: RAW_NONCE }))).kind).to.equal('success');
      serveKeys();
      const hashed = await identityToken();
      expectFail(await run(strategy({ nonceEncoding: 'raw' }), jsonRequest({ identityToken: hashed, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_NONCE');
    });

    it('accepts both forms with nonceEncoding "either"', async () => {
      for (const nonce of [RAW_NONCE, sha256Hex(RAW_NONCE)]) {
        serveKeys();
        const token = await identityToken({ nonce });
        expect((await run(strategy({ nonceEncoding: 'either' }), jsonRequest({ identityToken: token, nonce: RAW_NONCE }))).kind).to.equal('success');
      }
    });

    it('refuses a wrong nonce', async () => {
      serveKeys();
      expectFail(await run(strategy(), jsonRequest({ identityToken: await identityToken(), nonce: 'another-sign-in' })), 401, 'ERR_ID_TOKEN_NONCE');
    });

    it('refuses a request without nonce, before any key fetch', async () => {
      const keys = serveKeys();
      const err = expectFail(await run(strategy(), jsonRequest({ identityToken: await identityToken() })), 400, 'ERR_NATIVE_NONCE_MISSING');
      expect(err).to.be.instanceOf(AppleCallbackError);
      expect(keys.isDone()).to.equal(false);
    });

    it('refuses a token without nonce when the request sent one', async () => {
      serveKeys();
      const token = await identityToken({}, { omit: ['nonce'] });
      expectFail(await run(strategy(), jsonRequest({ identityToken: token, nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_NONCE_MISSING');
    });

    it('with nonceRequired: false, accepts a request and token both without nonce', async () => {
      serveKeys();
      const token = await identityToken({}, { omit: ['nonce'] });
      expect((await run(strategy({ nonceRequired: false }), jsonRequest({ identityToken: token }))).kind).to.equal('success');
    });

    it('with nonceRequired: false, still refuses a token carrying a nonce when the request has none', async () => {
      serveKeys();
      expectFail(await run(strategy({ nonceRequired: false }), jsonRequest({ identityToken: await identityToken() })), 401, 'ERR_ID_TOKEN_NONCE');
    });

    it('with nonceRequired: false, still checks a nonce the request sends', async () => {
      serveKeys();
      expectFail(await run(strategy({ nonceRequired: false }), jsonRequest({ identityToken: await identityToken(), nonce: 'wrong' })), 401, 'ERR_ID_TOKEN_NONCE');
    });
  });

  describe('token age', () => {
    it('refuses a token issued more than maxAge (default 600 s, plus 60 s tolerance) ago, though unexpired', async () => {
      serveKeys();
      const iat = nowSeconds() - 661;
      const err = expectFail(await run(strategy(), jsonRequest({ identityToken: await identityToken({ iat, exp: iat + 86400 }), nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_TOO_OLD');
      expect(err.message).to.include('600 s');
    });

    it('accepts a nine-minute-old token', async () => {
      serveKeys();
      const iat = nowSeconds() - 540;
      expect((await run(strategy(), jsonRequest({ identityToken: await identityToken({ iat, exp: iat + 86400 }), nonce: RAW_NONCE }))).kind).to.equal('success');
    });

    it('honours a custom maxAge', async () => {
      serveKeys();
      const iat = nowSeconds() - 200;
      expectFail(await run(strategy({ maxAge: 120 }), jsonRequest({ identityToken: await identityToken({ iat }), nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_TOO_OLD');
    });

    it('refuses an expired token', async () => {
      serveKeys();
      const iat = nowSeconds() - 300;
      expectFail(await run(strategy(), jsonRequest({ identityToken: await identityToken({ iat, exp: iat + 100 }), nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_EXPIRED');
    });
  });

  describe('authorization code', () => {
    /**
     * Apple's token endpoint, answering only a form post (as Apple's does) and recording each
     * form it received, as nock parsed it. (A reply *function* would hang fetch POSTs in nock 15.)
     */
    function tokenEndpoint(status: number, answer: unknown, forms: Array<Record<string, string>> = []): nock.Scope {
      return nock(APPLE)
        .matchHeader('content-type', 'application/x-www-form-urlencoded')
        .post('/auth/token', (form: Record<string, string>) => {
          forms.push(form);
          return true;
        })
        .reply(status, answer as nock.Body);
    }

    it('redeems the code with client_id = the token\'s audience, a secret signed for it, and no redirect_uri', async () => {
      serveKeys();
      const forms: Array<Record<string, string>> = [];
      const redeemedIdToken = await signIdToken(apple, { aud: WATCH_APP });
      tokenEndpoint(200, { access_token: 'at.1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt.1', id_token: redeemedIdToken }, forms);
      const calls: VerifyCall[] = [];
      const s = strategy({ clientID: IPHONE_APP, clientIDs: [WATCH_APP] }, calls);
      const token = await identityToken({ aud: WATCH_APP });
      // A client_id in the request is ignored: only the verified audience decides.
      const outcome = await run(s, jsonRequest({ identityToken: token, authorizationCode: 'c.native.1', nonce: RAW_NONCE, client_id: IPHONE_APP }));
      expect(outcome.kind, JSON.stringify(outcome)).to.equal('success');

      expect(forms).to.have.length(1);
      const form = forms[0]!;
      expect(form).to.deep.equal({ grant_type: 'authorization_code', code: 'c.native.1', client_id: WATCH_APP, client_secret: form.client_secret });
      expect(form.client_secret).to.be.a('string');
      const secret = decodeJwt(form.client_secret!);
      expect(secret.header).to.include({ alg: 'ES256', kid: KEY_ID });
      expect(secret.payload).to.include({ iss: TEAM_ID, sub: WATCH_APP, aud: APPLE });
      const [h, p] = form.client_secret!.split('.');
      expect(verifySignature('sha256', Buffer.from(`${h}.${p}`), { key: client.publicKey, dsaEncoding: 'ieee-p1363' }, secret.signature)).to.equal(true);

      expect(calls[0]!.accessToken).to.equal('at.1');
      expect(calls[0]!.refreshToken).to.equal('rt.1');
      expect(calls[0]!.params).to.include({ access_token: 'at.1', refresh_token: 'rt.1', id_token: redeemedIdToken });
      expect(calls[0]!.profile._raw).to.equal(token);
    });

    it('accepts the code alias and id_token alias', async () => {
      serveKeys();
      const forms: Array<Record<string, string>> = [];
      const redeemed = await signIdToken(apple, { aud: IPHONE_APP });
      tokenEndpoint(200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: redeemed }, forms);
      const outcome = await run(strategy(), jsonRequest({ id_token: await identityToken(), code: 'c.2', nonce: RAW_NONCE }));
      expect(outcome.kind).to.equal('success');
      expect(forms[0]!.code).to.equal('c.2');
    });

    it('refuses a code that belongs to another Apple user (ERR_NATIVE_SUB_MISMATCH)', async () => {
      serveKeys();
      const other = await signIdToken(apple, { aud: IPHONE_APP, sub: '009999.ffff.9999' });
      tokenEndpoint(200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: other });
      const calls: VerifyCall[] = [];
      const err = expectFail(
        await run(strategy({}, calls), jsonRequest({ identityToken: await identityToken(), authorizationCode: 'c.3', nonce: RAW_NONCE })),
        401,
        'ERR_NATIVE_SUB_MISMATCH',
      );
      expect(err).to.be.instanceOf(AppleIdTokenError);
      expect(calls).to.have.length(0);
    });

    it('refuses a redeemed id_token issued to another client', async () => {
      serveKeys();
      const other = await signIdToken(apple, { aud: WEB_SERVICE });
      tokenEndpoint(200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: other });
      expectFail(await run(strategy({ clientIDs: [WEB_SERVICE] }), jsonRequest({ identityToken: await identityToken(), authorizationCode: 'c', nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_AUDIENCE');
    });

    it('turns invalid_grant "client_id mismatch" into a 401 failure saying which client the code needs', async () => {
      serveKeys();
      tokenEndpoint(400, { error: 'invalid_grant', error_description: 'client_id mismatch. The code was not issued to com.example.app.' });
      const err = expectFail(
        await run(strategy(), jsonRequest({ identityToken: await identityToken(), authorizationCode: 'c.web', nonce: RAW_NONCE })),
        401,
        'ERR_TOKEN_INVALID_GRANT',
      ) as AppleTokenError;
      expect(err).to.be.instanceOf(AppleTokenError);
      expect(err.oauthError).to.equal('invalid_grant');
      expect(err.description).to.equal('client_id mismatch. The code was not issued to com.example.app.');
      expect(err.message).to.include(`client_id "${IPHONE_APP}"`).and.include('bundle ID').and.include('Services ID');
    });

    it('reports invalid_client as an error (the operator must fix the key or IDs)', async () => {
      serveKeys();
      tokenEndpoint(400, { error: 'invalid_client' });
      const outcome = await run(strategy(), jsonRequest({ identityToken: await identityToken(), authorizationCode: 'c', nonce: RAW_NONCE }));
      expect(outcome.kind).to.equal('error');
      const err = (outcome as Extract<Outcome, { kind: 'error' }>).err;
      expect(err).to.be.instanceOf(AppleTokenError).with.property('code', 'ERR_TOKEN_INVALID_CLIENT');
    });

    it('reports an Apple outage as an error', async () => {
      serveKeys();
      tokenEndpoint(503, 'Service Unavailable');
      const outcome = await run(strategy(), jsonRequest({ identityToken: await identityToken(), authorizationCode: 'c', nonce: RAW_NONCE }));
      expect(outcome.kind).to.equal('error');
      expect((outcome as Extract<Outcome, { kind: 'error' }>).err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_HTTP_STATUS');
    });

    it('does not redeem the code when the identity token is refused', async () => {
      serveKeys();
      const token = tokenEndpoint(200, {});
      expectFail(await run(strategy(), jsonRequest({ identityToken: await identityToken({ aud: 'com.other.app' }), authorizationCode: 'c', nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_AUDIENCE');
      expect(token.isDone()).to.equal(false);
    });
  });

  describe('request', () => {
    it('fails 400 ERR_NATIVE_TOKEN_MISSING without an identity token, or with an empty parsed body', async () => {
      expectFail(await run(strategy(), jsonRequest({ nonce: RAW_NONCE })), 400, 'ERR_NATIVE_TOKEN_MISSING');
      expectFail(await run(strategy(), jsonRequest({})), 400, 'ERR_NATIVE_TOKEN_MISSING');
    });

    it('refuses JSON sent as text/plain, which a cross-site page could post without a preflight', async () => {
      const req = { method: 'POST', url: '/auth/apple/native', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ identityToken: 'x', nonce: RAW_NONCE }) };
      expectFail(await run(strategy(), req), 400, 'ERR_NATIVE_BODY_INVALID');
    });

    it('fails 400 ERR_NATIVE_BODY_INVALID for a non-string token or code, or differing aliases', async () => {
      expectFail(await run(strategy(), jsonRequest({ identityToken: { a: 1 }, nonce: RAW_NONCE })), 400, 'ERR_NATIVE_BODY_INVALID');
      expectFail(await run(strategy(), jsonRequest({ identityToken: 'x', authorizationCode: 5, nonce: RAW_NONCE })), 400, 'ERR_NATIVE_BODY_INVALID');
      expectFail(await run(strategy(), jsonRequest({ identityToken: 'x', id_token: 'y', nonce: RAW_NONCE })), 400, 'ERR_NATIVE_BODY_INVALID');
      expectFail(await run(strategy(), jsonRequest({ identityToken: 'x', nonce: 42 })), 400, 'ERR_NATIVE_BODY_INVALID');
    });

    it('fails 401 ERR_ID_TOKEN_MALFORMED for a token that is not a JWT', async () => {
      expectFail(await run(strategy(), jsonRequest({ identityToken: 'not-a-jwt', nonce: RAW_NONCE })), 401, 'ERR_ID_TOKEN_MALFORMED');
    });

    it('reports unavailable Apple keys as an error, not a failure', async () => {
      nock(APPLE).get('/auth/keys').reply(500, 'oops');
      const outcome = await run(strategy(), jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE }));
      expect(outcome.kind).to.equal('error');
      expect((outcome as Extract<Outcome, { kind: 'error' }>).err).to.be.instanceOf(AppleKeysError);
    });

    it('takes the name from user, in Apple\'s shape (a JSON string) or the native one (an object)', async () => {
      const cases: Array<[unknown, { givenName?: string; familyName?: string }]> = [
        ['{"name":{"firstName":"Maria","lastName":"Ruiz"},"email":"spoofed@example.com"}', { givenName: 'Maria', familyName: 'Ruiz' }],
        [{ givenName: 'Maria', familyName: 'Ruiz' }, { givenName: 'Maria', familyName: 'Ruiz' }],
      ];
      for (const [user, name] of cases) {
        serveKeys();
        const calls: VerifyCall[] = [];
        await run(strategy({}, calls), jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE, user }));
        expect(calls[0]!.profile.name).to.deep.equal(name);
        expect(calls[0]!.profile.displayName).to.equal('Maria Ruiz');
        expect(calls[0]!.profile.isFirstLogin).to.equal(true);
        expect(calls[0]!.profile.email).to.equal('maria@example.com');
      }
    });

    it('has no name and isFirstLogin false without user (or with an empty name)', async () => {
      for (const user of [undefined, { givenName: null, familyName: null }]) {
        serveKeys();
        const calls: VerifyCall[] = [];
        await run(strategy({}, calls), jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE, user }));
        expect(calls[0]!.profile.name).to.equal(undefined);
        expect(calls[0]!.profile.isFirstLogin).to.equal(false);
      }
    });
  });

  describe('verify arities', () => {
    it('calls (accessToken, refreshToken, profile, done)', async () => {
      serveKeys();
      const seen: unknown[][] = [];
      const s = new AppleTokenStrategy({ ...base, clientID: IPHONE_APP }, (accessToken, refreshToken, profile, done) => {
        seen.push([accessToken, refreshToken, profile.id]);
        done(null, { id: profile.id }, { message: 'welcome' });
      });
      expect(await run(s, jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE }))).to.deep.equal({ kind: 'success', user: { id: SUB }, info: { message: 'welcome' } });
      expect(seen).to.deep.equal([[undefined, undefined, SUB]]);
    });

    it('calls (req, accessToken, refreshToken, params, profile, done) with passReqToCallback', async () => {
      serveKeys();
      const req = jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE });
      let gotReq: unknown;
      let gotParams: unknown;
      const s = new AppleTokenStrategy({ ...base, clientID: IPHONE_APP, passReqToCallback: true }, (r: Request, _a: string | undefined, _r: string | undefined, params: AppleTokenStrategyParams, profile: AppleProfile, done: AppleVerifyCallback) => {
        gotReq = r;
        gotParams = params;
        done(null, { id: profile.id });
      });
      expect((await run(s, req)).kind).to.equal('success');
      expect(gotReq).to.equal(req);
      expect(gotParams).to.have.property('id_token');
    });

    it('passes done(null, false, info) on as a failure and done(err) as an error', async () => {
      serveKeys();
      const refuse = new AppleTokenStrategy({ ...base, clientID: IPHONE_APP }, (_a, _r, _p, done) => done(null, false, { message: 'banned' }));
      expect(await run(refuse, jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE }))).to.deep.equal({ kind: 'fail', challenge: { message: 'banned' }, status: undefined });
      serveKeys();
      const boom = new Error('db down');
      const broken = new AppleTokenStrategy({ ...base, clientID: IPHONE_APP }, (_a, _r, _p, done) => done(boom));
      expect(await run(broken, jsonRequest({ identityToken: await identityToken(), nonce: RAW_NONCE }))).to.deep.equal({ kind: 'error', err: boom });
    });
  });

  describe('through Express and Passport', () => {
    function app(withJsonParser: boolean): express.Express {
      const passport = new Passport();
      passport.use(strategy());
      const a = express();
      if (withJsonParser) a.use(express.json());
      a.post('/auth/apple/native', (req, res, next) => {
        passport.authenticate('apple-token', { session: false }, (err: unknown, user: unknown, info: unknown, status: unknown) => {
          if (err) return res.status(500).json({ error: (err as { code?: string }).code ?? 'unknown' });
          if (!user) return res.status(typeof status === 'number' ? status : 401).json({ error: (info as { code?: string } | undefined)?.code });
          res.json({ user });
        })(req, res, next);
      });
      return a;
    }

    it('signs in from a JSON body parsed by express.json', async () => {
      serveKeys();
      const res = await request(app(true)).post('/auth/apple/native').send({ identityToken: await identityToken(), nonce: RAW_NONCE }).expect(200);
      expect(res.body).to.deep.equal({ user: { id: SUB } });
    });

    it('reads an unparsed JSON body itself', async () => {
      serveKeys();
      const body = JSON.stringify({ identityToken: await identityToken(), nonce: RAW_NONCE });
      const res = await request(app(false)).post('/auth/apple/native').set('content-type', 'application/json').send(body).expect(200);
      expect(res.body).to.deep.equal({ user: { id: SUB } });
    });

    it('reads an unparsed urlencoded form', async () => {
      serveKeys();
      const res = await request(app(false)).post('/auth/apple/native').type('form').send({ identityToken: await identityToken(), nonce: RAW_NONCE }).expect(200);
      expect(res.body).to.deep.equal({ user: { id: SUB } });
    });

    it('answers 400 ERR_NATIVE_BODY_INVALID for malformed JSON, never 500', async () => {
      const res = await request(app(false)).post('/auth/apple/native').set('content-type', 'application/json').send('{"identityToken": ').expect(400);
      expect(res.body).to.deep.equal({ error: 'ERR_NATIVE_BODY_INVALID' });
    });

    it('answers 413 for an oversized body', async () => {
      const res = await request(app(false)).post('/auth/apple/native').set('content-type', 'application/json').send(JSON.stringify({ identityToken: 'x'.repeat(70_000) })).expect(413);
      expect(res.body).to.deep.equal({ error: 'ERR_NATIVE_BODY_INVALID' });
    });

    it('answers 400 ERR_NATIVE_TOKEN_MISSING for an empty body', async () => {
      const res = await request(app(false)).post('/auth/apple/native').expect(400);
      expect(res.body).to.deep.equal({ error: 'ERR_NATIVE_TOKEN_MISSING' });
    });

    it('answers 401 with the token error code for a refused token', async () => {
      serveKeys();
      const res = await request(app(true)).post('/auth/apple/native').send({ identityToken: await identityToken({ aud: WEB_SERVICE }), nonce: RAW_NONCE }).expect(401);
      expect(res.body).to.deep.equal({ error: 'ERR_ID_TOKEN_AUDIENCE' });
    });
  });
});
