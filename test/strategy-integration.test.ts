import { expect } from 'chai';
import { createHash } from 'node:crypto';
import express from 'express';
import nock from 'nock';
import { Passport } from 'passport';
import request from 'supertest';
import { AppleStrategy } from '../lib/index.js';
import type { FetchLike } from '../lib/index.js';
import { CALLBACK_URL, CLIENT_ID, KEY_ID, TEAM_ID, appleSigningKey, clientKeyPair, decodeJwt, jwksOf, signIdToken, type AppleSigningKey } from './support/apple.js';
import { appleAnswers, harness } from './support/flow.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof express;

describe('AppleStrategy in applications', () => {
  let appleKey: AppleSigningKey;
  before(async () => {
    appleKey = await appleSigningKey();
  });
  const base = () => ({ clientID: CLIENT_ID, teamID: TEAM_ID, keyID: KEY_ID, privateKey: clientKeyPair().pem, callbackURL: CALLBACK_URL });

  async function signIn(app: express.Express, nonceFor: (state: string) => string): Promise<request.Response> {
    const start = await request(app).get('/auth/apple').expect(302);
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const cookie = (start.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    nock('https://appleid.apple.com').get('/auth/keys').reply(200, jwksOf(appleKey));
    nock('https://appleid.apple.com')
      .post('/auth/token')
      .reply(200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt', id_token: await signIdToken(appleKey, { nonce: nonceFor(state) }) });
    return request(app).post('/auth/apple/callback').set('Cookie', cookie).type('form').send({ code: 'c', state, user: '{"name":{"firstName":"Ana"}}' });
  }

  for (const [label, factory] of [
    ['Express 4', express4],
    ['Express 5', express],
  ] as const) {
    it(`signs in on ${label}, with no parser, express.urlencoded() or a global express.json()`, async () => {
      for (const parse of ['none', 'urlencoded', 'json'] as const) {
        const passport = new Passport();
        const strategy = new AppleStrategy(base(), (_a, _r, profile, done) => done(null, { id: profile.id, name: profile.displayName }));
        passport.use(strategy);
        const app = factory();
        if (parse === 'urlencoded') app.use(factory.urlencoded({ extended: true }));
        if (parse === 'json') app.use(factory.json());
        app.get('/auth/apple', passport.authenticate('apple', { session: false }));
        app.post('/auth/apple/callback', passport.authenticate('apple', { session: false }), (req, res) => {
          res.json(req.user);
        });
        const res = await signIn(app as express.Express, (s) => strategy.nonceFor(s));
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ id: '001234.abcdef0123456789abcdef0123456789.1234', name: 'Ana' });
      }
    });
  }

  it('redirects to failureRedirect on a cancel, with the message in failureMessage', async () => {
    const passport = new Passport();
    passport.use(new AppleStrategy(base(), (_a, _r, _p, done) => done(null, {})));
    const app = express();
    const messages: unknown[] = [];
    app.use((req, _res, next) => {
      (req as unknown as { session: Record<string, unknown> }).session = { messages };
      next();
    });
    app.post('/auth/apple/callback', passport.authenticate('apple', { session: false, failureRedirect: '/login', failureMessage: true }));
    const res = await request(app).post('/auth/apple/callback').type('form').send({ error: 'user_cancelled_authorize', state: 'x' });
    expect(res.status).to.equal(302);
    expect(res.headers.location).to.equal('/login');
    expect(messages).to.deep.equal(['The user cancelled Sign in with Apple (user_cancelled_authorize).']);
  });

  it('passes the request first with passReqToCallback, in both arities', async () => {
    for (const arity of [5, 6]) {
      const passport = new Passport();
      const verify5 = (req: express.Request, _a: string, _r: string | undefined, profile: { id: string }, done: (e: unknown, u?: unknown) => void): void =>
        done(null, { path: req.path, id: profile.id, arity: 5 });
      const verify6 = (
        req: express.Request,
        _a: string,
        _r: string | undefined,
        params: { access_token: string },
        profile: { id: string },
        done: (e: unknown, u?: unknown) => void,
      ): void => done(null, { path: req.path, id: profile.id, arity: 6, at: params.access_token });
      const strategy = arity === 5 ? new AppleStrategy({ ...base(), passReqToCallback: true }, verify5) : new AppleStrategy({ ...base(), passReqToCallback: true }, verify6);
      passport.use(strategy);
      const app = express();
      app.get('/auth/apple', passport.authenticate('apple', { session: false }));
      app.post('/auth/apple/callback', passport.authenticate('apple', { session: false }), (req, res) => {
        res.json(req.user);
      });
      const res = await signIn(app, (s) => strategy.nonceFor(s));
      expect(res.body).to.deep.equal(
        arity === 5
          ? { path: '/auth/apple/callback', id: '001234.abcdef0123456789abcdef0123456789.1234', arity: 5 }
          : { path: '/auth/apple/callback', id: '001234.abcdef0123456789abcdef0123456789.1234', arity: 6, at: 'at' },
      );
    }
  });

  it('turns done(null, false, info) into a fail and done(err) into an error', async () => {
    for (const outcome of ['fail', 'error'] as const) {
      const passport = new Passport();
      const strategy = new AppleStrategy(base(), (_a, _r, _p, done) =>
        outcome === 'fail' ? done(null, false, { message: 'banned' }) : done(new Error('db down')),
      );
      passport.use(strategy);
      const app = express();
      app.get('/auth/apple', passport.authenticate('apple', { session: false }));
      app.post('/auth/apple/callback', (req, res, next) =>
        passport.authenticate('apple', { session: false }, (err: Error | null, user: unknown, info: { message?: string }) => {
          res.json({ err: err?.message ?? null, user: user ?? null, info: info ?? null });
        })(req, res, next),
      );
      const res = await signIn(app, (s) => strategy.nonceFor(s));
      expect(res.body).to.deep.equal(outcome === 'fail' ? { err: null, user: false, info: { message: 'banned' } } : { err: 'db down', user: null, info: null });
    }
  });

  it('accepts any passport-oauth2 state store', async () => {
    const records = new Map<string, unknown>();
    const store = {
      store(_req: unknown, state: unknown, _meta: unknown, cb: (err: Error | null, handle?: string) => void) {
        const handle = `h${records.size}`;
        records.set(handle, state ?? true);
        cb(null, handle);
      },
      verify(_req: unknown, handle: string, cb: (err: Error | null, ok: boolean, info?: unknown) => void) {
        if (!records.has(handle)) return cb(null, false, { message: 'Unable to verify authorization request state.' });
        const state = records.get(handle);
        records.delete(handle);
        cb(null, true, state);
      },
    };
    const h = await harness({ store }, { authenticateOptions: { state: { to: '/a' } } });
    const { state, nonce } = await h.start();
    expect(state).to.equal('h0');
    await appleAnswers(h, { nonce });
    const ok = await h.callback({ code: 'c', state });
    expect(ok.status).to.equal(200);
    expect(ok.body.info).to.deep.equal({ state: { to: '/a' } });
    const bad = await h.callback({ code: 'c', state: 'h9' });
    expect(bad.status).to.equal(403);
    expect(bad.body.fail).to.equal('ERR_STATE_MISMATCH');
    expect(bad.body.message).to.equal('Unable to verify authorization request state.');
  });

  it('refuses to start a sign-in with a store that returns no state', async () => {
    const h = await harness({ store: { store: (_req: unknown, cb: (e: null, s?: string) => void) => cb(null), verify: (_r: unknown, _s: unknown, cb: (e: null, ok: boolean) => void) => cb(null, true) } });
    const passport = new Passport();
    passport.use(h.strategy);
    const app = express();
    app.get('/auth/apple', (req, res, next) =>
      passport.authenticate('apple', { session: false }, (err: { code?: string } | null) => res.status(500).json({ error: err?.code }))(req, res, next),
    );
    const res = await request(app).get('/auth/apple');
    expect(res.body).to.deep.equal({ error: 'ERR_STATE_STORE' });
  });

  it('gives a verifier-taking (PKCE) store its verifier, Apple the S256 challenge and the token request the verifier', async () => {
    const verifiers = new Map<string, string>();
    const store = {
      store(_req: unknown, verifier: string, _state: unknown, _meta: unknown, cb: (err: Error | null, handle?: string) => void) {
        verifiers.set('h1', verifier);
        cb(null, 'h1');
      },
      verify(_req: unknown, handle: string, cb: (err: Error | null, ok: string | false, state?: unknown) => void) {
        cb(null, verifiers.get(handle) ?? false);
      },
    };
    const h = await harness({ store });
    const { location, state, nonce } = await h.start();
    const verifier = verifiers.get('h1')!;
    expect(verifier).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('code_challenge_method')).to.equal('S256');
    expect(location.searchParams.get('code_challenge')).to.equal(createHash('sha256').update(verifier).digest('base64url'));
    const { tokenBody } = await appleAnswers(h, { nonce });
    expect((await h.callback({ code: 'c', state })).status).to.equal(200);
    expect(tokenBody().get('code_verifier')).to.equal(verifier);
  });

  it('reports one outcome when the application callback throws after success, and warns', async () => {
    const h = await harness();
    const passport = new Passport();
    passport.use(h.strategy);
    const calls: string[] = [];
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    const app = express();
    app.get('/auth/apple', passport.authenticate('apple', { session: false }));
    app.post('/auth/apple/callback', (req, res, next) =>
      passport.authenticate('apple', { session: false }, (err: Error | null, user: unknown) => {
        calls.push(err ? `err:${err.message}` : `user:${typeof user}`);
        res.end('done');
        if (!err) throw new Error('app bug after login');
      })(req, res, next),
    );
    const start = await request(app).get('/auth/apple');
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const cookie = (start.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    await appleAnswers(h, { nonce: h.strategy.nonceFor(state) });
    await request(app).post('/auth/apple/callback').set('Cookie', cookie).type('form').send({ code: 'c', state });
    await new Promise((r) => setTimeout(r, 50));
    process.off('warning', onWarning);
    expect(calls).to.deep.equal(['user:object']);
    expect(warnings.map((w) => w.message)).to.deep.equal(['app bug after login']);
  });

  it('uses the fetch option (node-fetch) for every call to Apple', async () => {
    const { default: nodeFetch } = await import('node-fetch');
    const calls: string[] = [];
    const counting: FetchLike = (url, init) => {
      calls.push(`${init.method} ${url}`);
      return nodeFetch(url, init as never) as never;
    };
    const h = await harness({ fetch: counting });
    const { state, nonce, cookie } = await h.start();
    await appleAnswers(h, { nonce });
    const out = await h.callback({ code: 'c', state }, cookie);
    expect(out.status).to.equal(200);
    expect(calls).to.deep.equal(['POST https://appleid.apple.com/auth/token', 'GET https://appleid.apple.com/auth/keys']);
  });

  it('routes passport-oauth2\'s own token calls (as passport-oauth2-refresh makes) through a fresh client secret', async () => {
    const h = await harness();
    let body = '';
    nock('https://appleid.apple.com')
      .post('/auth/token', (b: Record<string, string>) => {
        body = new URLSearchParams(b).toString();
        return true;
      })
      .reply(200, { access_token: 'new', token_type: 'Bearer', expires_in: 3600 });
    const oauth2 = (h.strategy as unknown as { _oauth2: { getOAuthAccessToken: (c: string, p: object, cb: (...a: unknown[]) => void) => void } })._oauth2;
    const result = await new Promise<unknown[]>((resolve) => oauth2.getOAuthAccessToken('r.old', { grant_type: 'refresh_token' }, (...args) => resolve(args)));
    expect(result[0]).to.equal(null);
    expect(result[1]).to.equal('new');
    const sent = new URLSearchParams(body);
    expect(sent.get('grant_type')).to.equal('refresh_token');
    expect(sent.get('refresh_token')).to.equal('r.old');
    expect(decodeJwt(sent.get('client_secret')!).payload.sub).to.equal(CLIENT_ID);

    nock('https://appleid.apple.com').post('/auth/token').reply(400, { error: 'invalid_grant' });
    const failed = await new Promise<unknown[]>((resolve) => oauth2.getOAuthAccessToken('r.old', { grant_type: 'refresh_token' }, (...args) => resolve(args)));
    expect((failed[0] as { statusCode: number }).statusCode).to.equal(400);
    expect(JSON.parse((failed[0] as { data: string }).data)).to.deep.equal({ error: 'invalid_grant' });
  });
});
