import { createHash, createHmac, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import OAuth2Strategy from 'passport-oauth2';
import type { AppleClient, AppleTokenResponse } from './apple-client.js';
import { optionalURL, requireString } from './apple-client.js';
import { asList, nonNegative, resolveAppleConfig, type AppleSharedOptions } from './apple-config.js';
import type { AppleKeySet } from './apple-keys.js';
import { callbackParams, param } from './callback-params.js';
import {
  AppleAuthError,
  AppleAuthorizationError,
  AppleCallbackError,
  AppleConfigError,
  AppleIdTokenError,
  AppleStateError,
  AppleTokenError,
} from './errors.js';
import { verifyAppleJwt, type AppleJwtPolicy } from './id-token.js';
import { buildProfile, type AppleProfile } from './profile.js';
import { CookieStateStore, MAX_STATE_TTL } from './state-store.js';
import { hasUserField, parseUserName } from './user-field.js';
import { callVerify, runOnce, type PassportStrategyActions, type VerifyDone } from './passport-base.js';

/** Apple's authorization endpoint. */
export const APPLE_AUTHORIZATION_URL = 'https://appleid.apple.com/auth/authorize';

const ALLOWED_SCOPES = ['name', 'email', 'openid'];

/** Called by your `verify` function: `done(err)`, `done(null, false, info)` or `done(null, user, info)`. */
export type AppleVerifyCallback = VerifyDone;

/** `verify(accessToken, refreshToken, profile, done)`. */
export type AppleVerify4 = (accessToken: string, refreshToken: string | undefined, profile: AppleProfile, done: AppleVerifyCallback) => void;
/** `verify(accessToken, refreshToken, params, profile, done)`, `params` being Apple's token response. */
export type AppleVerify5 = (
  accessToken: string,
  refreshToken: string | undefined,
  params: AppleTokenResponse,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;
/** `verify(req, accessToken, refreshToken, profile, done)`, with `passReqToCallback: true`. */
export type AppleVerifyWithRequest5 = (
  req: Request,
  accessToken: string,
  refreshToken: string | undefined,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;
/** `verify(req, accessToken, refreshToken, params, profile, done)`, with `passReqToCallback: true`. */
export type AppleVerifyWithRequest6 = (
  req: Request,
  accessToken: string,
  refreshToken: string | undefined,
  params: AppleTokenResponse,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;

/** `verify` without the request: `(accessToken, refreshToken, profile, done)` or with Apple's token response as `params`. */
export type AppleVerifyFunction = AppleVerify4 | AppleVerify5;

/** `verify` with the request first, when `passReqToCallback` is true. */
export type AppleVerifyFunctionWithRequest = AppleVerifyWithRequest5 | AppleVerifyWithRequest6;

/**
 * A passport-oauth2 state store: `store(req, [verifier,] state, meta, cb)` and
 * `verify(req, state, [meta,] cb)`, called with the arity each declares. Default: {@link CookieStateStore}.
 */
export interface AppleStateStore {
  store(...args: never[]): void;
  verify(...args: never[]): void;
}

/** Options of the AppleStrategy. */
export interface AppleStrategyOptions extends AppleSharedOptions {
  /** Your Services ID, e.g. `com.example.web` (the web flow's client_id). */
  clientID: string;
  /** The Return URL registered on the Services ID; relative URLs are resolved against the request. */
  callbackURL: string;
  /** `['name', 'email']` by default; `[]` asks for neither (and lets Apple call back with GET). */
  scope?: string | string[];
  /** Apple's authorize URL by default. */
  authorizationURL?: string;
  /** Accepted id_token audiences (default: `clientID` only). */
  audience?: string | string[];
  /** Secret (32+ characters) keying the state cookie. Default: derived from the private key. */
  stateSecret?: string | Buffer;
  /** Any passport-oauth2 state store, replacing the default cookie store. */
  store?: AppleStateStore;
  /** Seconds a sign-in may take with the default store (default and maximum 600). */
  stateTTL?: number;
  /** Trust `X-Forwarded-Proto`/`-Host` when resolving a relative callbackURL (as passport-oauth2's `proxy`). */
  proxy?: boolean;
}

function parseScope(scope: string | string[] | undefined): string[] {
  if (scope === undefined) return ['name', 'email'];
  const list = Array.isArray(scope) ? scope : scope.split(/[\s,]+/).filter(Boolean);
  for (const s of list) {
    if (!ALLOWED_SCOPES.includes(s)) {
      throw new AppleConfigError('ERR_CONFIG_INVALID', `scope "${s}" is not one Apple knows: use "name" and/or "email".`);
    }
  }
  return list;
}

/** Reconstructs the URL the browser used, to resolve a relative callbackURL (as passport-oauth2 does). */
function originalURL(req: IncomingMessage & { app?: { get?: (k: string) => unknown } }, proxy: boolean): string {
  const trustProxy = proxy || Boolean(req.app?.get?.('trust proxy'));
  const forwardedProto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim().toLowerCase();
  const encrypted = Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted);
  const https = encrypted || (trustProxy && forwardedProto === 'https');
  const forwardedHost = trustProxy ? req.headers['x-forwarded-host'] : undefined;
  const host = (typeof forwardedHost === 'string' && forwardedHost) || req.headers.host || 'localhost';
  return `${https ? 'https' : 'http'}://${host}${req.url ?? '/'}`;
}

function encodeQuery(params: Record<string, string | undefined>): string {
  // encodeURIComponent turns the space in "name email" into %20; a "+" makes Apple drop the scopes.
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/**
 * Passport strategy for Sign in with Apple on the web.
 *
 * @example
 * ```ts
 * passport.use(new AppleStrategy({
 *   clientID: 'com.example.web', teamID: 'TEAM123456', keyID: 'KEY1234567',
 *   privateKeyLocation: './AuthKey_KEY1234567.p8',
 *   callbackURL: 'https://app.example.com/auth/apple/callback',
 * }, (accessToken, refreshToken, profile, done) => done(null, { id: profile.id })));
 * app.get('/auth/apple', passport.authenticate('apple'));
 * app.post('/auth/apple/callback', passport.authenticate('apple', { failureRedirect: '/login' }), (req, res) => res.redirect('/'));
 * ```
 */
export class AppleStrategy extends OAuth2Strategy {
  /** The client used for token requests; also usable for refresh and revoke. */
  readonly client: AppleClient;
  /** Apple's keys, cached for the life of the strategy. */
  readonly keySet: AppleKeySet;
  private readonly appleClientID: string;
  private readonly appleCallbackURL: string;
  private readonly appleScope: string[];
  private readonly appleAuthorizationURL: string;
  private readonly stateStore: AppleStateStore;
  private readonly nonceKey: Buffer;
  private readonly jwtPolicy: Omit<AppleJwtPolicy, 'nonce'>;
  private readonly trustProxy: boolean;
  private readonly verifyFn: (...args: unknown[]) => void;
  private readonly passReq: boolean;

  constructor(options: AppleStrategyOptions & { passReqToCallback?: false }, verify: AppleVerify4);
  constructor(options: AppleStrategyOptions & { passReqToCallback?: false }, verify: AppleVerify5);
  constructor(options: AppleStrategyOptions & { passReqToCallback: true }, verify: AppleVerifyWithRequest5);
  constructor(options: AppleStrategyOptions & { passReqToCallback: true }, verify: AppleVerifyWithRequest6);
  constructor(options: AppleStrategyOptions, verify: AppleVerifyFunction | AppleVerifyFunctionWithRequest) {
    if (!options || typeof options !== 'object') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleStrategy needs an options object: new AppleStrategy({ clientID, teamID, keyID, privateKey, callbackURL }, verify).');
    }
    if (typeof verify !== 'function') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleStrategy needs a verify function as its second argument.');
    }
    const clientID = requireString(options, 'clientID', 'your Services ID, e.g. com.example.web');
    const callbackURL = requireString(options, 'callbackURL', 'the Return URL registered on your Services ID');
    const scope = parseScope(options.scope);
    const authorizationURL = optionalURL(options.authorizationURL, 'authorizationURL', APPLE_AUTHORIZATION_URL);
    const config = resolveAppleConfig(options, clientID);
    const secretMaterial = stateSecretMaterial(options.stateSecret, config.key);
    const stateTTL = nonNegative(options.stateTTL, 'stateTTL', MAX_STATE_TTL);
    if (stateTTL === 0 || stateTTL > MAX_STATE_TTL) {
      throw new AppleConfigError('ERR_CONFIG_INVALID', `stateTTL must be between 1 and ${MAX_STATE_TTL} seconds.`);
    }
    const store =
      options.store ??
      new CookieStateStore({ secret: derive(secretMaterial, `state:${clientID}`), ttl: stateTTL });
    if (typeof store.store !== 'function' || typeof store.verify !== 'function') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'store must be a passport-oauth2 state store, with store() and verify() methods.');
    }
    super(
      {
        clientID,
        clientSecret: 'signed-per-request',
        authorizationURL,
        tokenURL: config.client.tokenURL,
        callbackURL,
        scope,
        scopeSeparator: ' ',
        store: store as unknown as OAuth2Strategy.StateStore,
        passReqToCallback: options.passReqToCallback === true,
      } as OAuth2Strategy.StrategyOptions,
      verify as OAuth2Strategy.VerifyFunction,
    );
    this.name = 'apple';
    this.client = config.client;
    this.keySet = config.keySet;
    this.appleClientID = clientID;
    this.appleCallbackURL = callbackURL;
    this.appleScope = scope;
    this.appleAuthorizationURL = authorizationURL;
    this.stateStore = store;
    this.nonceKey = derive(secretMaterial, `nonce:${clientID}`);
    this.trustProxy = options.proxy === true;
    this.verifyFn = verify as (...args: unknown[]) => void;
    this.passReq = options.passReqToCallback === true;
    this.jwtPolicy = {
      keys: config.keySet,
      issuers: config.issuers,
      audiences: asList(options.audience, 'audience') ?? [clientID],
      clockTolerance: config.clockTolerance,
      label: 'id_token',
    };
    this.routeOAuthThroughClient();
  }

  /**
   * Redirects to Apple, or, on the callback (a POST, or a GET carrying code, error or state),
   * completes the sign-in. A callback never redirects back to Apple.
   */
  override authenticate(req: Request, options: Record<string, unknown> = {}): void {
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const isCallback = req.method === 'POST' || query.has('code') || query.has('error') || query.has('state');
    runOnce(this as unknown as PassportStrategyActions, (actions) =>
      isCallback ? this.completeSignIn(req, options, actions) : this.redirectToApple(req, options, actions),
    );
  }

  /** Apple has no userinfo endpoint: the profile comes from the verified id_token. */
  override userProfile(_accessToken: string, done: (err?: unknown, profile?: unknown) => void): void {
    done(null, {});
  }

  /** The nonce sent with a sign-in, bound to its state with a keyed hash, so any state store carries it. */
  nonceFor(state: string): string {
    return createHmac('sha256', this.nonceKey).update(state).digest('base64url');
  }

  private callbackURLFor(req: IncomingMessage, options: Record<string, unknown>): string {
    const configured = typeof options.callbackURL === 'string' ? options.callbackURL : this.appleCallbackURL;
    if (/^https?:\/\//i.test(configured)) return configured;
    return new URL(configured, originalURL(req, this.trustProxy)).toString();
  }

  private async redirectToApple(req: Request, options: Record<string, unknown>, actions: PassportStrategyActions): Promise<void> {
    const callbackURL = this.callbackURLFor(req, options);
    const scope = options.scope !== undefined ? parseScope(options.scope as string | string[]) : this.appleScope;
    const meta = { authorizationURL: this.appleAuthorizationURL, tokenURL: this.client.tokenURL, clientID: this.appleClientID, callbackURL };
    // A store taking a verifier (passport-oauth2's PKCE stores) gets one, and Apple its S256 challenge.
    const verifier = this.stateStore.store.length >= 5 ? randomBytes(32).toString('base64url') : undefined;
    const state = await storeState(this.stateStore, req, verifier, options.state, meta);
    if (!state) {
      throw new AppleStateError(
        'ERR_STATE_STORE',
        'The state store returned no state. State and nonce protect the sign-in and cannot be turned off: use the default store or one that returns a state.',
      );
    }
    const extra = this.authorizationParams(options) as Record<string, string | undefined>;
    const params: Record<string, string | undefined> = {
      ...extra,
      client_id: this.appleClientID,
      redirect_uri: callbackURL,
      response_type: 'code',
      // Apple refuses any scope unless the answer is posted back.
      response_mode: scope.length > 0 ? 'form_post' : extra.response_mode,
      scope: scope.length > 0 ? scope.join(' ') : undefined,
      state,
      nonce: this.nonceFor(state),
      code_challenge: verifier ? createHash('sha256').update(verifier).digest('base64url') : undefined,
      code_challenge_method: verifier ? 'S256' : undefined,
    };
    const separator = this.appleAuthorizationURL.includes('?') ? '&' : '?';
    actions.redirect(`${this.appleAuthorizationURL}${separator}${encodeQuery(params)}`);
  }

  private async completeSignIn(req: Request, options: Record<string, unknown>, actions: PassportStrategyActions): Promise<void> {
    let params;
    try {
      params = await callbackParams(req);
    } catch (err) {
      if (err instanceof AppleCallbackError) return actions.fail(err, 400);
      throw err;
    }
    const appleError = param(params, 'error');
    if (appleError !== undefined) {
      return actions.fail(authorizationError(appleError.slice(0, 100)), 401);
    }
    const code = param(params, 'code');
    if (!code) {
      return actions.fail(
        new AppleCallbackError('ERR_CALLBACK_CODE_MISSING', 'The callback carries no authorization code: it must be reached from Apple\'s sign-in page, not directly.'),
        400,
      );
    }
    const callbackURL = this.callbackURLFor(req, options);
    const state = param(params, 'state');
    if (!state) {
      return actions.fail(new AppleStateError('ERR_STATE_PARAM_MISSING', 'The callback carries no state parameter: start the sign-in again from this site.'), 403);
    }
    const meta = { authorizationURL: this.appleAuthorizationURL, tokenURL: this.client.tokenURL, clientID: this.appleClientID, callbackURL };
    const checked = await verifyState(this.stateStore, req, state, meta);
    if (checked.ok === false) return actions.fail(checked.info, 403);

    let tokens: AppleTokenResponse;
    try {
      tokens = await this.client.exchangeCode(code, {
        redirectURI: callbackURL,
        codeVerifier: typeof checked.ok === 'string' ? checked.ok : undefined,
        extraParams: this.tokenParams(options) as Record<string, string>,
      });
    } catch (err) {
      // An expired or reused code is the user's to retry; a rejected secret is the operator's to fix.
      if (err instanceof AppleTokenError && err.oauthError === 'invalid_grant') return actions.fail(err, 401);
      throw err;
    }
    const idToken = tokens.id_token as string;
    let claims;
    try {
      claims = await verifyAppleJwt(idToken, { ...this.jwtPolicy, nonce: { values: [this.nonceFor(state)] } });
    } catch (err) {
      if (err instanceof AppleIdTokenError) return actions.fail(err, 401);
      throw err;
    }
    const profile = buildProfile(claims, idToken, parseUserName(params.user), hasUserField(params.user));
    this.callVerify(req, tokens, profile, checked.appState, actions);
  }

  private callVerify(req: Request, tokens: AppleTokenResponse, profile: AppleProfile, appState: unknown, actions: PassportStrategyActions): void {
    const extra = appState !== undefined && appState !== null && appState !== true ? { state: appState } : {};
    callVerify(this.verifyFn, this.passReq, { req, accessToken: tokens.access_token, refreshToken: tokens.refresh_token, params: tokens, profile }, actions, extra);
  }

  /**
   * Tools built on passport-oauth2 (passport-oauth2-refresh, for one) call `_oauth2` directly;
   * route them through the client so they too get a freshly signed secret and Apple's form body.
   */
  private routeOAuthThroughClient(): void {
    const client = this.client;
    const oauth2 = (this as unknown as { _oauth2: { getOAuthAccessToken: unknown } })._oauth2;
    oauth2.getOAuthAccessToken = (
      code: string,
      params: Record<string, string>,
      callback: (err: unknown, accessToken?: string, refreshToken?: string, results?: AppleTokenResponse) => void,
    ): void => {
      const grant = params?.grant_type ?? 'authorization_code';
      const request =
        grant === 'refresh_token'
          ? client.refresh(code)
          : client.exchangeCode(code, { redirectURI: params?.redirect_uri, codeVerifier: params?.code_verifier });
      request.then(
        (tokens) => callback(null, tokens.access_token, tokens.refresh_token, tokens),
        (err: unknown) => {
          const status = err instanceof AppleTokenError ? err.status : 500;
          const data = err instanceof AppleTokenError ? JSON.stringify({ error: err.oauthError, error_description: err.description }) : String(err);
          callback({ statusCode: status, data, cause: err });
        },
      );
    };
  }
}

function authorizationError(appleError: string): AppleAuthorizationError {
  if (appleError === 'user_cancelled_authorize') {
    return new AppleAuthorizationError('ERR_AUTHORIZATION_CANCELLED', appleError, 'The user cancelled Sign in with Apple (user_cancelled_authorize).');
  }
  return new AppleAuthorizationError('ERR_AUTHORIZATION_FAILED', appleError, `Apple refused the sign-in: ${appleError}.`);
}

function stateSecretMaterial(stateSecret: string | Buffer | undefined, key: KeyObject): Buffer {
  if (stateSecret === undefined) return key.export({ format: 'der', type: 'pkcs8' });
  const material = Buffer.isBuffer(stateSecret) ? stateSecret : typeof stateSecret === 'string' ? Buffer.from(stateSecret, 'utf8') : undefined;
  if (!material || material.length < 32) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'stateSecret must be at least 32 characters (or bytes) of random data, e.g. from `openssl rand -base64 32`.');
  }
  return material;
}

function derive(material: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, 'passport-apple-signin', purpose, 32));
}

type Meta = { authorizationURL: string; tokenURL: string; clientID: string; callbackURL: string };

/** Calls a passport-oauth2 store's `store` with the arity it declares, as passport-oauth2 does. */
function storeState(store: AppleStateStore, req: Request, verifier: string | undefined, appState: unknown, meta: Meta): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, state?: unknown): void => {
      if (err) reject(err);
      else resolve(typeof state === 'string' && state.length > 0 ? state : undefined);
    };
    const fn = store.store as (...args: unknown[]) => void;
    try {
      if (fn.length >= 5) fn.call(store, req, verifier, appState, meta, done);
      else if (fn.length === 4) fn.call(store, req, appState, meta, done);
      else if (fn.length === 3) fn.call(store, req, meta, done);
      else fn.call(store, req, done);
    } catch (err) {
      reject(err);
    }
  });
}

type StateCheck = { ok: false; info: AppleAuthError } | { ok: true | string; appState: unknown };

function verifyState(store: AppleStateStore, req: Request, state: string | undefined, meta: Meta): Promise<StateCheck> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, ok: unknown, info?: unknown): void => {
      if (err) return reject(err);
      if (!ok) {
        const message = (info as { message?: unknown } | undefined)?.message;
        resolve({
          ok: false,
          info:
            info instanceof AppleAuthError
              ? info
              : new AppleStateError('ERR_STATE_MISMATCH', typeof message === 'string' ? message : 'The state returned by Apple could not be verified.'),
        });
        return;
      }
      resolve({ ok: typeof ok === 'string' ? ok : true, appState: info });
    };
    const fn = store.verify as (...args: unknown[]) => void;
    try {
      if (fn.length >= 4) fn.call(store, req, state, meta, done);
      else fn.call(store, req, state, done);
    } catch (err) {
      reject(err);
    }
  });
}
