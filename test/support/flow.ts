// Drives the web flow through a real Express app: redirect, Apple's form_post callback, outcome.
import express from 'express';
import nock from 'nock';
import { Passport } from 'passport';
import request from 'supertest';
import { AppleStrategy, type AppleStrategyOptions, type AppleVerify4 } from '../../lib/index.js';
import { CALLBACK_URL, CLIENT_ID, KEY_ID, TEAM_ID, appleSigningKey, clientKeyPair, jwksOf, signIdToken, type AppleSigningKey } from './apple.js';

export interface Outcome {
  status: number;
  body: {
    user?: Record<string, unknown>;
    info?: Record<string, unknown>;
    fail?: string;
    error?: string;
    message?: string;
    args?: number;
  };
  headers: Record<string, string | string[]>;
}

export interface Harness {
  app: express.Express;
  strategy: AppleStrategy;
  appleKey: AppleSigningKey;
  clientPem: string;
  /** Starts a sign-in: returns Apple's authorize URL, its parameters and the state cookie. */
  start(path?: string, cookie?: string): Promise<{ location: URL; state: string; nonce: string; cookie: string }>;
  /** Posts Apple's callback form. */
  callback(form: Record<string, string>, cookie?: string, opts?: { type?: string; raw?: string }): Promise<Outcome>;
}

export type VerifyMode = 'four' | 'five';

/** Builds an app with a fresh strategy. `bodyParser` runs express.urlencoded before the callback. */
export async function harness(
  overrides: Partial<AppleStrategyOptions> = {},
  opts: { bodyParser?: boolean; verify?: VerifyMode; authenticateOptions?: Record<string, unknown>; appleKey?: AppleSigningKey } = {},
): Promise<Harness> {
  const appleKey = opts.appleKey ?? (await appleSigningKey());
  const { pem } = clientKeyPair();
  const verify4 = (accessToken: string, refreshToken: string | undefined, profile: unknown, done: (e: unknown, u?: unknown) => void): void =>
    done(null, { accessToken, refreshToken, profile, args: 4 });
  const verify5 = (
    accessToken: string,
    refreshToken: string | undefined,
    params: unknown,
    profile: unknown,
    done: (e: unknown, u?: unknown) => void,
  ): void => done(null, { accessToken, refreshToken, params, profile, args: 5 });
  const strategy = new AppleStrategy(
    { clientID: CLIENT_ID, teamID: TEAM_ID, keyID: KEY_ID, privateKey: pem, callbackURL: CALLBACK_URL, ...overrides } as AppleStrategyOptions & {
      passReqToCallback?: false;
    },
    (opts.verify === 'five' ? verify5 : verify4) as AppleVerify4,
  );
  const passport = new Passport();
  passport.use(strategy);
  const app = express();
  app.get('/auth/apple', passport.authenticate('apple', { session: false, ...opts.authenticateOptions }));
  if (opts.bodyParser) app.use(express.urlencoded({ extended: false }));
  app.all('/auth/apple/callback', (req, res, next) => {
    passport.authenticate('apple', { session: false }, (err: { code?: string; message?: string } | null, user: unknown, info: { code?: string; message?: string } | undefined, status?: number) => {
      if (err) return res.status(500).json({ error: err.code ?? 'unknown', message: err.message });
      if (!user) return res.status(status ?? 401).json({ fail: info?.code ?? 'none', message: info?.message });
      res.json({ user, info });
    })(req, res, next);
  });
  return {
    app,
    strategy,
    appleKey,
    clientPem: pem,
    async start(path = '/auth/apple', sendCookie?: string) {
      const res = await (sendCookie ? request(app).get(path).set('Cookie', sendCookie) : request(app).get(path)).expect(302);
      const location = new URL(res.headers.location as string);
      const setCookie = ([] as string[]).concat((res.headers['set-cookie'] as unknown as string[]) ?? []);
      const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');
      return { location, state: location.searchParams.get('state') ?? '', nonce: location.searchParams.get('nonce') ?? '', cookie };
    },
    async callback(form, cookie, o = {}) {
      let req = request(app).post('/auth/apple/callback').type(o.type ?? 'form');
      if (cookie) req = req.set('Cookie', cookie);
      const res = await req.send(o.raw ?? new URLSearchParams(form).toString());
      return { status: res.status, body: res.body, headers: res.headers as Record<string, string | string[]> };
    },
  };
}

/** Answers Apple's JWKS and one token request; returns the scope that records the token request body. */
export async function appleAnswers(
  h: Harness,
  opts: { nonce?: string; claims?: Record<string, unknown>; token?: string; tokenStatus?: number; tokenBody?: unknown } = {},
): Promise<{ tokenBody: () => URLSearchParams; idToken: string }> {
  const idToken = opts.token ?? (await signIdToken(h.appleKey, { nonce: opts.nonce, ...opts.claims }));
  let seen = '';
  nock('https://appleid.apple.com').get('/auth/keys').reply(200, jwksOf(h.appleKey));
  nock('https://appleid.apple.com')
    .post('/auth/token', (body: unknown) => {
      seen = typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString();
      return true;
    })
    .reply(
      opts.tokenStatus ?? 200,
      opts.tokenBody ?? { access_token: 'a.access', token_type: 'Bearer', expires_in: 3600, refresh_token: 'r.refresh', id_token: idToken },
    );
  return { tokenBody: () => new URLSearchParams(seen), idToken };
}
