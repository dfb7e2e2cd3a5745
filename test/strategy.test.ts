import { expect } from 'chai';
import express from 'express';
import nock from 'nock';
import { Passport } from 'passport';
import request from 'supertest';
import { AppleStrategy, Strategy, AppleConfigError } from '../lib/index.js';
import { CALLBACK_URL, CLIENT_ID, KEY_ID, TEAM_ID, clientKeyPair, decodeJwt, jwksOf, signIdToken, appleSigningKey } from './support/apple.js';
import { appleAnswers, harness } from './support/flow.js';

describe('AppleStrategy', () => {
  describe('construction', () => {
    const { pem } = clientKeyPair();
    const base = { clientID: CLIENT_ID, teamID: TEAM_ID, keyID: KEY_ID, privateKey: pem, callbackURL: CALLBACK_URL };
    const verify = (_a: string, _r: string | undefined, _p: unknown, done: (e: unknown, u?: unknown) => void): void => done(null, {});

    it('is named apple and exported as Strategy too', () => {
      const s = new AppleStrategy(base, verify);
      expect(s.name).to.equal('apple');
      expect(Strategy).to.equal(AppleStrategy);
    });

    for (const missing of ['clientID', 'teamID', 'keyID', 'callbackURL'] as const) {
      it(`throws ERR_CONFIG_INVALID naming ${missing} when it is missing`, () => {
        const options = { ...base, [missing]: undefined };
        expect(() => new AppleStrategy(options as typeof base, verify))
          .to.throw(AppleConfigError, new RegExp(`^${missing} is required`))
          .with.property('code', 'ERR_CONFIG_INVALID');
      });
    }

    it('throws when verify is not a function', () => {
      expect(() => new AppleStrategy(base, undefined as unknown as typeof verify)).to.throw(AppleConfigError, /verify function/);
    });

    it('refuses a scope Apple does not know (there is no "profile" scope)', () => {
      expect(() => new AppleStrategy({ ...base, scope: ['name', 'profile'] }, verify)).to.throw(AppleConfigError, /scope "profile"/);
    });

    it('refuses a short stateSecret', () => {
      expect(() => new AppleStrategy({ ...base, stateSecret: 'short' }, verify)).to.throw(AppleConfigError, /stateSecret must be at least 32/);
    });

    it('refuses a client secret lifetime above Apple\'s 15777000 s limit', () => {
      expect(() => new AppleStrategy({ ...base, clientSecretLifetime: 15777001 }, verify)).to.throw(AppleConfigError, /clientSecretLifetime/);
    });

    it('refuses a store without store()/verify()', () => {
      expect(() => new AppleStrategy({ ...base, store: {} as never }, verify)).to.throw(AppleConfigError, /store must be a passport-oauth2 state store/);
    });
  });

  describe('authorization redirect', () => {
    it('redirects to Apple with every parameter Apple needs, scope encoded as name%20email', async () => {
      const h = await harness();
      const res = await request(h.app).get('/auth/apple').expect(302);
      const location = res.headers.location as string;
      expect(location.startsWith('https://appleid.apple.com/auth/authorize?')).to.equal(true);
      expect(location).to.include('scope=name%20email');
      expect(location).not.to.include('name+email');
      const url = new URL(location);
      expect(url.searchParams.get('client_id')).to.equal(CLIENT_ID);
      expect(url.searchParams.get('redirect_uri')).to.equal(CALLBACK_URL);
      expect(url.searchParams.get('response_type')).to.equal('code');
      expect(url.searchParams.get('response_mode')).to.equal('form_post');
      expect(url.searchParams.get('state')).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(url.searchParams.get('nonce')).to.equal(h.strategy.nonceFor(url.searchParams.get('state')!));
    });

    it('sets a SameSite=None; Secure; HttpOnly state cookie scoped to the callback path, at most 11 minutes', async () => {
      const h = await harness();
      const res = await request(h.app).get('/auth/apple').expect(302);
      const state = new URL(res.headers.location as string).searchParams.get('state');
      const cookies = res.headers['set-cookie'] as unknown as string[];
      expect(cookies).to.have.length(2);
      const [pair, ...attrs] = cookies[0]!.split('; ');
      expect(pair!.startsWith(`apple_state_${state}=`)).to.equal(true);
      expect(attrs).to.deep.equal(['Path=/auth/apple/callback', 'Max-Age=660', 'HttpOnly', 'Secure', 'SameSite=None']);
      const [binding, ...bindingAttrs] = cookies[1]!.split('; ');
      expect(binding).to.match(/^__Host-apple_state_browser=[A-Za-z0-9_-]{32}$/);
      expect(bindingAttrs).to.deep.equal(['Path=/', 'Max-Age=660', 'HttpOnly', 'Secure', 'SameSite=None']);
    });

    it('gives each sign-in its own state', async () => {
      const h = await harness();
      const a = await h.start();
      const b = await h.start();
      expect(a.state).not.to.equal(b.state);
      expect(a.nonce).not.to.equal(b.nonce);
    });

    it('takes per-request overrides from authenticate() options', async () => {
      const h = await harness({}, { authenticateOptions: { scope: ['email'], callbackURL: 'https://other.example.com/cb' } });
      const { location } = await h.start();
      expect(location.searchParams.get('scope')).to.equal('email');
      expect(location.searchParams.get('redirect_uri')).to.equal('https://other.example.com/cb');
    });

    it('with no scope asks for no form_post and sends no scope', async () => {
      const h = await harness({ scope: [] });
      const { location } = await h.start();
      expect(location.searchParams.has('scope')).to.equal(false);
      expect(location.searchParams.has('response_mode')).to.equal(false);
    });

    it('resolves a relative callbackURL against the request host', async () => {
      const h = await harness({ callbackURL: '/auth/apple/callback' });
      const res = await request(h.app).get('/auth/apple').set('Host', 'app.test').expect(302);
      expect(new URL(res.headers.location as string).searchParams.get('redirect_uri')).to.equal('http://app.test/auth/apple/callback');
    });

    it('uses the configured authorizationURL', async () => {
      const h = await harness({ authorizationURL: 'http://127.0.0.1:4400/auth/authorize' });
      const { location } = await h.start();
      expect(location.origin + location.pathname).to.equal('http://127.0.0.1:4400/auth/authorize');
    });
  });

  describe('callback', () => {
    it('signs the user in from Apple\'s form_post, without a body parser', async () => {
      const h = await harness();
      const { state, nonce, cookie } = await h.start();
      const { tokenBody } = await appleAnswers(h, { nonce });
      const user = JSON.stringify({ name: { firstName: 'Maria', lastName: 'Ruiz' }, email: 'attacker@evil.example' });
      const out = await h.callback({ code: 'c.code', state, user }, cookie);
      expect(out.status).to.equal(200);
      const profile = out.body.user!.profile as Record<string, unknown>;
      expect(profile.provider).to.equal('apple');
      expect(profile.id).to.equal('001234.abcdef0123456789abcdef0123456789.1234');
      expect(profile.email).to.equal('maria@example.com');
      expect(profile.emailVerified).to.equal(true);
      expect(profile.isPrivateEmail).to.equal(false);
      expect(profile.emails).to.deep.equal([{ value: 'maria@example.com', verified: true }]);
      expect(profile.name).to.deep.equal({ givenName: 'Maria', familyName: 'Ruiz' });
      expect(profile.displayName).to.equal('Maria Ruiz');
      expect(profile.isFirstLogin).to.equal(true);
      expect(out.body.user!.accessToken).to.equal('a.access');
      expect(out.body.user!.refreshToken).to.equal('r.refresh');
      expect(out.body.user!.args).to.equal(4);
      const sent = tokenBody();
      expect(sent.get('grant_type')).to.equal('authorization_code');
      expect(sent.get('code')).to.equal('c.code');
      expect(sent.get('redirect_uri')).to.equal(CALLBACK_URL);
      expect(sent.get('client_id')).to.equal(CLIENT_ID);
      const secret = decodeJwt(sent.get('client_secret')!);
      expect(secret.header).to.deep.equal({ alg: 'ES256', kid: KEY_ID, typ: 'JWT' });
      expect(secret.payload.sub).to.equal(CLIENT_ID);
    });

    it('works the same after express.urlencoded() parsed the body', async () => {
      const h = await harness({}, { bodyParser: true });
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      const out = await h.callback({ code: 'c.code', state }, cookie);
      expect(out.status).to.equal(200);
      expect((out.body.user!.profile as Record<string, unknown>).isFirstLogin).to.equal(false);
      expect((out.body.user!.profile as Record<string, unknown>).name).to.equal(undefined);
    });

    it('passes Apple\'s token response as params to a five-argument verify', async () => {
      const h = await harness({}, { verify: 'five' });
      const { state, nonce, cookie } = await h.start();
      const { idToken } = await appleAnswers(h, { nonce });
      const out = await h.callback({ code: 'c.code', state }, cookie);
      expect(out.body.user!.args).to.equal(5);
      expect((out.body.user!.params as Record<string, unknown>).id_token).to.equal(idToken);
      expect((out.body.user!.profile as Record<string, unknown>)._raw).to.equal(idToken);
    });

    it('clears the state cookie on the callback', async () => {
      const h = await harness();
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      const out = await h.callback({ code: 'c.code', state }, cookie);
      expect(out.headers['set-cookie']).to.deep.equal([`apple_state_${state}=; Path=/auth/apple/callback; Max-Age=0; HttpOnly; Secure; SameSite=None`]);
    });

    it('completes two sign-ins started in two tabs, in either order', async () => {
      const h = await harness();
      const first = await h.start();
      // The second tab's request carries the browser cookie the first one set.
      const second = await h.start('/auth/apple', first.cookie);
      const both = `${first.cookie}; ${second.cookie.split('; ')[0]}`;
      await appleAnswers(h, { nonce: second.nonce });
      expect((await h.callback({ code: 'c2', state: second.state }, both)).status).to.equal(200);
      await appleAnswers(h, { nonce: first.nonce });
      expect((await h.callback({ code: 'c1', state: first.state }, both)).status).to.equal(200);
    });

    it('fails ERR_STATE_MISSING, explaining the cross-site POST, when no state cookie came', async () => {
      const h = await harness();
      const { state } = await h.start();
      const out = await h.callback({ code: 'c.code', state });
      expect(out.status).to.equal(403);
      expect(out.body.fail).to.equal('ERR_STATE_MISSING');
      expect(out.body.message).to.include("did not send the state cookie on Apple's cross-site POST");
    });

    it('fails ERR_STATE_MISMATCH when the state was altered', async () => {
      const h = await harness();
      const { state, cookie } = await h.start();
      const out = await h.callback({ code: 'c.code', state: state.replace(/^./, state[0] === 'A' ? 'B' : 'A') }, cookie);
      expect(out.status).to.equal(403);
      expect(out.body.fail).to.equal('ERR_STATE_MISMATCH');
    });

    it('fails ERR_STATE_PARAM_MISSING when Apple\'s post has no state', async () => {
      const h = await harness();
      const { cookie } = await h.start();
      const out = await h.callback({ code: 'c.code' }, cookie);
      expect(out.body.fail).to.equal('ERR_STATE_PARAM_MISSING');
    });

    it('fails ERR_STATE_INVALID when the cookie was tampered with', async () => {
      const h = await harness();
      const { state, cookie } = await h.start();
      const [record, binding] = cookie.split('; ');
      const [name, value] = record!.split('=');
      const flipped = value!.slice(0, 20) + (value![20] === 'A' ? 'B' : 'A') + value!.slice(21);
      const out = await h.callback({ code: 'c.code', state }, `${name}=${flipped}; ${binding}`);
      expect(out.body.fail).to.equal('ERR_STATE_INVALID');
    });

    it('fails ERR_STATE_REUSED when the same callback is submitted twice', async () => {
      const h = await harness();
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      expect((await h.callback({ code: 'c.code', state }, cookie)).status).to.equal(200);
      const again = await h.callback({ code: 'c.code', state }, cookie);
      expect(again.status).to.equal(403);
      expect(again.body.fail).to.equal('ERR_STATE_REUSED');
    });

    it('accepts a state record issued by another instance sharing the configuration', async () => {
      const appleKey = await appleSigningKey();
      const { pem } = clientKeyPair();
      const a = await harness({ privateKey: pem }, { appleKey });
      const b = await harness({ privateKey: pem }, { appleKey });
      const { state, nonce, cookie } = await a.start();
      await appleAnswers(b, { nonce });
      expect((await b.callback({ code: 'c.code', state }, cookie)).status).to.equal(200);
    });

    it('refuses a state record issued by an instance with another key', async () => {
      const a = await harness();
      const b = await harness();
      const { state, cookie } = await a.start();
      expect((await b.callback({ code: 'c.code', state }, cookie)).body.fail).to.equal('ERR_STATE_INVALID');
    });

    it('returns app state passed to authenticate() in info.state', async () => {
      const h = await harness({}, { authenticateOptions: { state: { returnTo: '/settings' } } });
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      const out = await h.callback({ code: 'c.code', state }, cookie);
      expect(out.body.info).to.deep.equal({ state: { returnTo: '/settings' } });
    });

    it('fails ERR_AUTHORIZATION_CANCELLED when the user pressed Cancel', async () => {
      const h = await harness();
      const { state, cookie } = await h.start();
      const out = await h.callback({ error: 'user_cancelled_authorize', state }, cookie);
      expect(out.status).to.equal(401);
      expect(out.body.fail).to.equal('ERR_AUTHORIZATION_CANCELLED');
      expect(out.body.message).to.equal('The user cancelled Sign in with Apple (user_cancelled_authorize).');
    });

    it('fails ERR_AUTHORIZATION_FAILED for any other error, from the query too', async () => {
      const h = await harness();
      const res = await request(h.app).get('/auth/apple/callback?error=invalid_request&state=x');
      expect(res.status).to.equal(401);
      expect(res.body.fail).to.equal('ERR_AUTHORIZATION_FAILED');
      expect(res.body.message).to.equal('Apple refused the sign-in: invalid_request.');
    });

    it('never redirects a POST callback without a code back to Apple', async () => {
      const h = await harness();
      const out = await h.callback({ state: 'x' });
      expect(out.status).to.equal(400);
      expect(out.body.fail).to.equal('ERR_CALLBACK_CODE_MISSING');
    });

    it('accepts a GET callback with a code when no scope was asked', async () => {
      const h = await harness({ scope: [] });
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      const res = await request(h.app).get(`/auth/apple/callback?code=c.code&state=${state}`).set('Cookie', cookie);
      expect(res.status).to.equal(200);
      expect(res.body.user.profile.id).to.equal('001234.abcdef0123456789abcdef0123456789.1234');
    });

    it('does not modify req.query', async () => {
      const h = await harness();
      let query: unknown;
      const passport = new Passport();
      passport.use(h.strategy);
      const app = express();
      app.post('/auth/apple/callback', (req, res, next) => {
        const before = JSON.stringify(req.query);
        passport.authenticate('apple', { session: false }, () => {
          query = [before, JSON.stringify(req.query)];
          res.end();
        })(req, res, next);
      });
      await request(app).post('/auth/apple/callback?x=1').type('form').send('error=user_cancelled_authorize');
      expect(query).to.deep.equal(['{"x":"1"}', '{"x":"1"}']);
    });

    it('fails ERR_CALLBACK_BODY_TOO_LARGE for a huge body, without a crash', async () => {
      const h = await harness();
      const out = await h.callback({}, undefined, { raw: `code=x&user=${'a'.repeat(70 * 1024)}` });
      expect(out.status).to.equal(400);
      expect(out.body.fail).to.equal('ERR_CALLBACK_BODY_TOO_LARGE');
    });

    it('ignores a malformed user field and still signs in', async () => {
      const h = await harness();
      const { state, nonce, cookie } = await h.start();
      await appleAnswers(h, { nonce });
      const out = await h.callback({ code: 'c.code', state, user: '{"name": {"firstName": ' }, cookie);
      expect(out.status).to.equal(200);
      const profile = out.body.user!.profile as Record<string, unknown>;
      expect(profile.name).to.equal(undefined);
      expect(profile.isFirstLogin).to.equal(true);
      expect(profile.email).to.equal('maria@example.com');
    });

    describe('token exchange errors', () => {
      async function exchange(reply: { status: number; body: unknown }): Promise<{ status: number; body: Record<string, unknown> }> {
        const h = await harness();
        const { state, cookie } = await h.start();
        nock('https://appleid.apple.com').post('/auth/token').reply(reply.status, reply.body as nock.Body);
        return h.callback({ code: 'c.code', state }, cookie);
      }

      it('invalid_grant is a fail the user can retry', async () => {
        const out = await exchange({ status: 400, body: { error: 'invalid_grant', error_description: 'The code has already been used.' } });
        expect(out.status).to.equal(401);
        expect(out.body.fail).to.equal('ERR_TOKEN_INVALID_GRANT');
        expect(out.body.message).to.match(/^Apple answered invalid_grant: The code has already been used\. The code or refresh token is expired/);
      });

      it('invalid_client is an error with a hint to check the credentials and the clock', async () => {
        const out = await exchange({ status: 400, body: { error: 'invalid_client' } });
        expect(out.status).to.equal(500);
        expect(out.body.error).to.equal('ERR_TOKEN_INVALID_CLIENT');
        expect(out.body.message).to.include('check teamID, keyID and clientID');
        expect(out.body.message).to.include('clock');
      });

      it('a 5xx is ERR_APPLE_HTTP_STATUS', async () => {
        const out = await exchange({ status: 503, body: '<html>down</html>' });
        expect(out.body.error).to.equal('ERR_APPLE_HTTP_STATUS');
      });

      it('an HTML 200 is ERR_APPLE_RESPONSE_INVALID', async () => {
        const out = await exchange({ status: 200, body: '<html>hello</html>' });
        expect(out.body.error).to.equal('ERR_APPLE_RESPONSE_INVALID');
      });

      it('a 200 without id_token is ERR_APPLE_NO_ID_TOKEN', async () => {
        const out = await exchange({ status: 200, body: { access_token: 'a', token_type: 'Bearer', expires_in: 3600 } });
        expect(out.body.error).to.equal('ERR_APPLE_NO_ID_TOKEN');
      });

      it('a connection error is ERR_APPLE_NETWORK', async () => {
        const h = await harness();
        const { state, cookie } = await h.start();
        nock('https://appleid.apple.com').post('/auth/token').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
        const out = await h.callback({ code: 'c.code', state }, cookie);
        expect(out.body.error).to.equal('ERR_APPLE_NETWORK');
      });

      it('no answer within the timeout is ERR_APPLE_TIMEOUT, not a hang', async () => {
        const h = await harness({ timeout: 200 });
        const { state, cookie } = await h.start();
        nock('https://appleid.apple.com').post('/auth/token').delay(2000).reply(200, {});
        const started = Date.now();
        const out = await h.callback({ code: 'c.code', state }, cookie);
        expect(out.body.error).to.equal('ERR_APPLE_TIMEOUT');
        expect(Date.now() - started).to.be.below(1500);
      });
    });

    describe('id_token checks before verify runs', () => {
      async function signInWith(claims: Record<string, unknown>, opts: { header?: Record<string, unknown>; omit?: string[] } = {}) {
        const h = await harness();
        let verifyCalled = false;
        const original = (h.strategy as unknown as { verifyFn: (...a: unknown[]) => void }).verifyFn;
        (h.strategy as unknown as { verifyFn: unknown }).verifyFn = function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
          verifyCalled = true;
          return original.call(this, a, b, c, d);
        };
        const { state, nonce, cookie } = await h.start();
        const token = await signIdToken(h.appleKey, { nonce, ...claims }, opts);
        await appleAnswers(h, { token });
        const out = await h.callback({ code: 'c.code', state }, cookie);
        return { out, verifyCalled };
      }

      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['another audience', { aud: 'com.other.app' }, 'ERR_ID_TOKEN_AUDIENCE'],
        ['another issuer', { iss: 'https://evil.example.com' }, 'ERR_ID_TOKEN_ISSUER'],
        ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 }, 'ERR_ID_TOKEN_EXPIRED'],
        ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600 }, 'ERR_ID_TOKEN_IAT_FUTURE'],
        ['another nonce', { nonce: 'replayed-from-elsewhere' }, 'ERR_ID_TOKEN_NONCE'],
      ];
      for (const [what, claims, code] of cases) {
        it(`fails ${code} for ${what}, and verify never runs`, async () => {
          const { out, verifyCalled } = await signInWith(claims);
          expect(out.status).to.equal(401);
          expect(out.body.fail).to.equal(code);
          expect(verifyCalled).to.equal(false);
        });
      }

      it('fails ERR_ID_TOKEN_NONCE_MISSING when Apple returned no nonce', async () => {
        const { out } = await signInWith({}, { omit: ['nonce'] });
        expect(out.body.fail).to.equal('ERR_ID_TOKEN_NONCE_MISSING');
      });

      for (const claim of ['sub', 'exp', 'iat']) {
        it(`fails ERR_ID_TOKEN_CLAIM_MISSING without ${claim}`, async () => {
          const { out } = await signInWith({}, { omit: [claim] });
          expect(out.body.fail).to.equal('ERR_ID_TOKEN_CLAIM_MISSING');
        });
      }

      it('fails ERR_ID_TOKEN_SIGNATURE for a token signed by someone else under Apple\'s kid', async () => {
        const h = await harness();
        const impostor = await appleSigningKey(h.appleKey.kid);
        const { state, nonce, cookie } = await h.start();
        await appleAnswers(h, { token: await signIdToken(impostor, { nonce }) });
        expect((await h.callback({ code: 'c.code', state }, cookie)).body.fail).to.equal('ERR_ID_TOKEN_SIGNATURE');
      });

      it('an unreachable key endpoint is an error (ERR_JWKS_UNAVAILABLE), not a fail', async () => {
        const h = await harness();
        const { state, nonce, cookie } = await h.start();
        const token = await signIdToken(h.appleKey, { nonce });
        nock('https://appleid.apple.com').get('/auth/keys').reply(503, 'down');
        nock('https://appleid.apple.com').post('/auth/token').reply(200, { access_token: 'a', token_type: 'Bearer', expires_in: 3600, id_token: token });
        const out = await h.callback({ code: 'c.code', state }, cookie);
        expect(out.status).to.equal(500);
        expect(out.body.error).to.equal('ERR_JWKS_UNAVAILABLE');
      });

      it('fetches Apple\'s keys once for many logins', async () => {
        const h = await harness();
        const keys = nock('https://appleid.apple.com').get('/auth/keys').once().reply(200, jwksOf(h.appleKey));
        for (let i = 0; i < 3; i++) {
          const { state, nonce, cookie } = await h.start();
          nock('https://appleid.apple.com')
            .post('/auth/token')
            .reply(200, { access_token: 'a', token_type: 'Bearer', expires_in: 3600, id_token: await signIdToken(h.appleKey, { nonce }) });
          expect((await h.callback({ code: `c${i}`, state }, cookie)).status).to.equal(200);
        }
        expect(keys.isDone()).to.equal(true);
        expect(h.strategy.keySet.fetchCount).to.equal(1);
      });
    });
  });
});
