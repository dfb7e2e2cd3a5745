import type { Request } from 'express';
import type { AppleClient, AppleTokenResponse } from './apple-client.js';
import type { AppleKeySet } from './apple-keys.js';
import { AppleCallbackError, AppleConfigError, AppleIdTokenError, AppleTokenError } from './errors.js';
import { issuedTo, sha256Hex, verifyAppleJwt, type AppleIdTokenClaims, type AppleJwtPolicy } from './id-token.js';
import { isNativeParamsFailure, readNativeParams, type NativeSignInParams } from './native-params.js';
import { callVerify, PassportStrategy, runOnce, type PassportStrategyActions } from './passport-base.js';
import { buildProfile, type AppleProfile } from './profile.js';
import type { ReplayStore } from './replay-store.js';
import { resolveAppleConfig, type AppleSharedOptions } from './apple-config.js';
import type { AppleVerifyCallback } from './strategy.js';
import { parseUserName } from './user-field.js';

/** Default for `maxAge`: identity tokens older than ten minutes are refused. */
export const DEFAULT_IDENTITY_TOKEN_MAX_AGE = 600;

/**
 * How the nonce in the identity token relates to the raw nonce the app sends its backend:
 *
 * - `'sha256'` (default): the token's `nonce` is the lowercase hex SHA-256 of the raw nonce. This
 *   is the iOS convention (Apple's and Firebase's samples set `request.nonce = sha256(raw)`;
 *   react-native-apple-authentication hashes for you), and it means a token intercepted between
 *   Apple and the app does not reveal the value the backend expects.
 * - `'raw'`: the token's `nonce` is the raw nonce itself (apps that hand Apple the raw value).
 * - `'either'`: both are accepted, for a backend serving apps of both kinds. It is as strong as
 *   `'raw'` alone, so prefer fixing the apps.
 *
 * @example
 * ```ts
 * new AppleTokenStrategy({ clientID: 'com.example.app', teamID, keyID, privateKeyLocation, nonceEncoding: 'either' }, verify);
 * ```
 */
export type AppleNonceEncoding = 'sha256' | 'raw' | 'either';

/**
 * Options of the {@link AppleTokenStrategy}.
 *
 * @example
 * ```ts
 * const options: AppleTokenStrategyOptions = {
 *   clientIDs: ['com.example.app', 'com.example.app.watchkitapp'],
 *   teamID: 'TEAM123456', keyID: 'KEY1234567', privateKeyString: process.env.APPLE_PRIVATE_KEY,
 * };
 * ```
 */
export interface AppleTokenStrategyOptions extends AppleSharedOptions {
  /** The app's bundle ID, e.g. `com.example.app`: the identity token's `aud`. Give this or `clientIDs`. */
  clientID?: string;
  /**
   * Every client whose identity tokens are accepted: several apps' bundle IDs, and the Services ID
   * if one backend serves web and native sign-in. Merged with `clientID`.
   */
  clientIDs?: string | string[];
  /**
   * Seconds after its `iat` an identity token is still accepted (default 600). Apple's identity
   * tokens live a day; a token copied from a device or a log must not be usable all that time.
   */
  maxAge?: number;
  /** How the token's nonce relates to the raw nonce in the request (default `'sha256'`). See {@link AppleNonceEncoding}. */
  nonceEncoding?: AppleNonceEncoding;
  /**
   * Whether a nonce is required (default true): a request without `nonce` is refused with
   * `ERR_NATIVE_NONCE_MISSING`, and a token without a `nonce` claim with `ERR_ID_TOKEN_NONCE_MISSING`.
   * Set false only for apps that cannot send one; a request without `nonce` then passes only
   * with a token that carries none, and a request with one is still checked. Without a nonce, a
   * stolen identity token is usable by anyone for `maxAge` seconds.
   */
  nonceRequired?: boolean;
  /**
   * Makes each identity token single use: the strategy records a hash of every token it accepts
   * until the token is too old anyway, and refuses it again with `ERR_NATIVE_TOKEN_REPLAYED`. Off
   * by default (a retried request would be refused). `new MemoryReplayStore()` protects one
   * process; give several processes a shared store (see the notifications section).
   */
  replayStore?: ReplayStore;
}

/** `params` of the verify function: Apple's token response when a code was redeemed, otherwise `{ id_token }`. */
export type AppleTokenStrategyParams = AppleTokenResponse | { id_token: string };

/**
 * `verify` without the request, taking the profile. `accessToken` and `refreshToken` are
 * undefined when the app sent no authorization code. Store `refreshToken`: revoking it is how you
 * honour an account deletion.
 */
export type AppleTokenProfileVerifyFunction = (
  accessToken: string | undefined,
  refreshToken: string | undefined,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;

/** `verify` without the request, taking Apple's token response (or `{ id_token }`) as `params` too. */
export type AppleTokenParamsVerifyFunction = (
  accessToken: string | undefined,
  refreshToken: string | undefined,
  params: AppleTokenStrategyParams,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;

/** `verify` with the request first (`passReqToCallback: true`), taking the profile. */
export type AppleTokenProfileVerifyFunctionWithRequest = (
  req: Request,
  accessToken: string | undefined,
  refreshToken: string | undefined,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;

/** `verify` with the request first (`passReqToCallback: true`), taking `params` too. */
export type AppleTokenParamsVerifyFunctionWithRequest = (
  req: Request,
  accessToken: string | undefined,
  refreshToken: string | undefined,
  params: AppleTokenStrategyParams,
  profile: AppleProfile,
  done: AppleVerifyCallback,
) => void;

/** Either `verify` without the request. Which one is told by its number of parameters, as in passport-oauth2. */
export type AppleTokenVerifyFunction = AppleTokenProfileVerifyFunction | AppleTokenParamsVerifyFunction;

/** Either `verify` with the request first. */
export type AppleTokenVerifyFunctionWithRequest = AppleTokenProfileVerifyFunctionWithRequest | AppleTokenParamsVerifyFunctionWithRequest;

const NONCE_ENCODINGS: readonly AppleNonceEncoding[] = ['sha256', 'raw', 'either'];

function clientIDsOf(options: AppleTokenStrategyOptions): string[] {
  const ids: unknown[] = [];
  if (options.clientID !== undefined) ids.push(options.clientID);
  if (options.clientIDs !== undefined) ids.push(...(Array.isArray(options.clientIDs) ? options.clientIDs : [options.clientIDs]));
  if (ids.length === 0) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleTokenStrategy needs clientID (the app\'s bundle ID, e.g. com.example.app) or clientIDs.');
  }
  if (!ids.every((id): id is string => typeof id === 'string' && id.trim().length > 0)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'clientID and clientIDs must be non-empty strings: bundle IDs or Services IDs.');
  }
  return [...new Set(ids.map((id) => id.trim()))];
}

function invalidGrantHint(clientID: string): string {
  return (
    `The authorization code was refused for client_id "${clientID}" (the identity token's audience). ` +
    'It expired (codes live 5 minutes), was already used, or was issued to another client: a code is redeemed only by the client that started the sign-in, ' +
    'so a code from the iOS/macOS app goes with its bundle ID and a code from the web flow with the Services ID (and its redirect_uri, which this strategy never sends). ' +
    'Send the identityToken and authorizationCode of the same credential; the user should sign in again.'
  );
}

/**
 * Passport strategy for Sign in with Apple in native apps (iOS, macOS, and any client that gets
 * an identity token from Apple), registered as `apple-token`.
 *
 * The app posts the credential to your backend, as JSON or a form: `identityToken` (alias
 * `id_token`), optionally `authorizationCode` (alias `code`), `user` (the name, on first consent)
 * and `nonce` (the raw nonce). The strategy then:
 *
 * 1. verifies the identity token with `verifyAppleJwt`: RS256 signature by Apple's keys, issuer,
 *    `aud` among the configured client IDs, `exp`, `iat` no older than `maxAge`, `sub`, and the
 *    nonce as `nonceEncoding` says;
 * 2. with an authorization code, redeems it with `client_id` = the verified token's audience (never
 *    a value from the request), a client secret signed for that ID, and no `redirect_uri`; checks
 *    the returned id_token (signature, issuer, `aud` = that client ID, `exp`, `sub`: it came over
 *    TLS from Apple in answer to our signed request, so neither nonce nor age is checked there)
 *    and that its `sub` equals the identity token's;
 * 3. calls `verify` with Apple's tokens (or undefined ones without a code) and a profile built
 *    from the identity token, with the name from `user`.
 *
 * Outcomes: `fail(err, 400)` for an unusable request (`ERR_NATIVE_BODY_INVALID`,
 * `ERR_NATIVE_TOKEN_MISSING`, `ERR_NATIVE_NONCE_MISSING`; 413 for an oversized body);
 * `fail(err, 401)` for a refused token (`AppleIdTokenError`, including `ERR_NATIVE_SUB_MISMATCH`)
 * or code (`AppleTokenError` `invalid_grant`); `error(err)` for what the operator must fix or
 * retry: Apple's keys unavailable (`AppleKeysError`), the client secret rejected
 * (`invalid_client`), Apple unreachable (`AppleUpstreamError`).
 *
 * @example
 * ```ts
 * passport.use(new AppleTokenStrategy({
 *   clientIDs: ['com.example.app', 'com.example.web'], teamID: 'TEAM123456', keyID: 'KEY1234567',
 *   privateKeyLocation: './AuthKey_KEY1234567.p8',
 * }, async (accessToken, refreshToken, profile, done) => {
 *   const user = await users.upsertByAppleId(profile.id, { email: profile.email, name: profile.name, refreshToken });
 *   done(null, user);
 * }));
 * app.post('/auth/apple/native', express.json(), passport.authenticate('apple-token', { session: false }), (req, res) => res.json(issueSession(req.user)));
 * ```
 */
export class AppleTokenStrategy extends PassportStrategy {
  override name = 'apple-token';
  /** The client used for code exchanges; also usable for refresh and revoke (pass `{ clientID }` for tokens of another app). */
  readonly client: AppleClient;
  /** Apple's keys, cached for the life of the strategy. */
  readonly keySet: AppleKeySet;
  /** The accepted audiences. */
  readonly clientIDs: readonly string[];
  private readonly jwtPolicy: Omit<AppleJwtPolicy, 'nonce' | 'audiences' | 'maxAge' | 'label'>;
  private readonly maxAge: number;
  private readonly nonceEncoding: AppleNonceEncoding;
  private readonly nonceRequired: boolean;
  private readonly replayStore: ReplayStore | undefined;
  private readonly verifyFn: (...args: unknown[]) => void;
  private readonly passReq: boolean;

  // One overload per verify shape, shortest first: an arrow function with four (with the request,
  // five) unannotated parameters gets its types from the first. TypeScript cannot type the longer
  // form's parameters from a later overload, so annotate those (or pass a typed function).
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback?: false }, verify: AppleTokenProfileVerifyFunction);
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback?: false }, verify: AppleTokenParamsVerifyFunction);
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback: true }, verify: AppleTokenProfileVerifyFunctionWithRequest);
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback: true }, verify: AppleTokenParamsVerifyFunctionWithRequest);
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback?: false }, verify: AppleTokenVerifyFunction);
  constructor(options: AppleTokenStrategyOptions & { passReqToCallback: true }, verify: AppleTokenVerifyFunctionWithRequest);
  constructor(options: AppleTokenStrategyOptions, verify: AppleTokenVerifyFunction | AppleTokenVerifyFunctionWithRequest) {
    super();
    if (!options || typeof options !== 'object') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleTokenStrategy needs an options object: new AppleTokenStrategy({ clientID, teamID, keyID, privateKey }, verify).');
    }
    if (typeof verify !== 'function') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleTokenStrategy needs a verify function as its second argument.');
    }
    const clientIDs = clientIDsOf(options);
    const maxAge = options.maxAge ?? DEFAULT_IDENTITY_TOKEN_MAX_AGE;
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0) {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'maxAge must be a positive number of seconds (default 600).');
    }
    const nonceEncoding = options.nonceEncoding ?? 'sha256';
    if (!NONCE_ENCODINGS.includes(nonceEncoding)) {
      throw new AppleConfigError('ERR_CONFIG_INVALID', `nonceEncoding must be one of ${NONCE_ENCODINGS.join(', ')}.`);
    }
    if (options.nonceRequired !== undefined && typeof options.nonceRequired !== 'boolean') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'nonceRequired must be true or false.');
    }
    // The client signs its secret per call for the ID it is given; the first ID is only its default.
    const config = resolveAppleConfig(options, clientIDs[0]!);
    this.client = config.client;
    this.keySet = config.keySet;
    this.clientIDs = Object.freeze(clientIDs);
    this.jwtPolicy = { keys: config.keySet, issuers: config.issuers, clockTolerance: config.clockTolerance };
    this.maxAge = maxAge;
    this.nonceEncoding = nonceEncoding;
    this.nonceRequired = options.nonceRequired !== false;
    if (options.replayStore !== undefined && typeof options.replayStore?.seen !== 'function') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'replayStore must have a seen(key, expiresAt) method.');
    }
    this.replayStore = options.replayStore;
    this.verifyFn = verify as (...args: unknown[]) => void;
    this.passReq = options.passReqToCallback === true;
  }

  /** Verifies the posted credential; see the class documentation for the outcomes. */
  override authenticate(req: Request, _options: Record<string, unknown> = {}): void {
    runOnce(this, (actions) => this.signIn(req, actions));
  }

  /** The acceptable `nonce` claim values for a raw nonce, per `nonceEncoding`. */
  private nonceValues(raw: string): string[] {
    if (this.nonceEncoding === 'raw') return [raw];
    if (this.nonceEncoding === 'either') return [sha256Hex(raw), raw];
    return [sha256Hex(raw)];
  }

  private async signIn(req: Request, actions: PassportStrategyActions): Promise<void> {
    const params = await readNativeParams(req);
    if (isNativeParamsFailure(params)) return actions.fail(params.error, params.status);
    let nonce: AppleJwtPolicy['nonce'];
    if (params.nonce !== undefined) {
      nonce = { values: this.nonceValues(params.nonce), required: true };
    } else if (this.nonceRequired) {
      return actions.fail(
        new AppleCallbackError(
          'ERR_NATIVE_NONCE_MISSING',
          'The sign-in request carries no nonce: send the raw nonce the app generated (it gives Apple its SHA-256) in "nonce".',
        ),
        400,
      );
    } else {
      // Nothing to compare with: accept only a token that carries no nonce either.
      nonce = { values: [], required: false };
    }

    let claims: AppleIdTokenClaims;
    try {
      claims = await verifyAppleJwt(params.identityToken, {
        ...this.jwtPolicy,
        audiences: this.clientIDs,
        maxAge: this.maxAge,
        nonce,
        label: 'identity token',
      });
    } catch (err) {
      if (err instanceof AppleIdTokenError) return actions.fail(err, 401);
      throw err;
    }

    if (this.replayStore) {
      const tolerance = this.jwtPolicy.clockTolerance ?? 60;
      const expiresAt = Math.floor(Math.min(claims.exp, claims.iat + this.maxAge) + tolerance) + 1;
      if (await this.replayStore.seen(`apple-token:${sha256Hex(params.identityToken)}`, expiresAt)) {
        return actions.fail(
          new AppleIdTokenError('ERR_NATIVE_TOKEN_REPLAYED', 'This identity token was already used to sign in: the app must sign in with Apple again.'),
          401,
        );
      }
    }

    let tokens: AppleTokenStrategyParams = { id_token: params.identityToken };
    if (params.authorizationCode !== undefined) {
      const redeemed = await this.redeem(params, claims);
      if (redeemed instanceof Error) return actions.fail(redeemed, 401);
      tokens = redeemed;
    }
    const name = parseUserName(params.user);
    const profile = buildProfile(claims, params.identityToken, name, name !== undefined);
    this.callVerify(req, tokens, profile, actions);
  }

  /** Redeems the code for the client the identity token was issued to; an Error is a failure to report. */
  private async redeem(params: NativeSignInParams, identity: AppleIdTokenClaims): Promise<AppleTokenResponse | AppleTokenError | AppleIdTokenError> {
    const clientID = issuedTo(identity);
    let tokens: AppleTokenResponse;
    try {
      // No redirect_uri: the native request had none, and sending one makes Apple answer invalid_grant.
      tokens = await this.client.exchangeCode(params.authorizationCode!, { clientID });
    } catch (err) {
      // An expired, reused or foreign code is the user's to retry; a rejected secret is the operator's to fix.
      if (err instanceof AppleTokenError && err.oauthError === 'invalid_grant') {
        return new AppleTokenError(err.oauthError, err.description, err.status, invalidGrantHint(clientID));
      }
      throw err;
    }
    let redeemed: AppleIdTokenClaims;
    try {
      redeemed = await verifyAppleJwt(tokens.id_token, { ...this.jwtPolicy, audiences: [clientID], label: "id_token from Apple's token endpoint" });
    } catch (err) {
      if (err instanceof AppleIdTokenError) return err;
      throw err;
    }
    if (redeemed.sub !== identity.sub) {
      return new AppleIdTokenError(
        'ERR_NATIVE_SUB_MISMATCH',
        'The authorization code belongs to another Apple user than the identity token: the app must send the identityToken and authorizationCode of the same credential.',
        { claim: 'sub' },
      );
    }
    return tokens;
  }

  private callVerify(req: Request, tokens: AppleTokenStrategyParams, profile: AppleProfile, actions: PassportStrategyActions): void {
    const accessToken = 'access_token' in tokens ? tokens.access_token : undefined;
    const refreshToken = 'access_token' in tokens ? tokens.refresh_token : undefined;
    callVerify(this.verifyFn, this.passReq, { req, accessToken, refreshToken, params: tokens, profile }, actions);
  }
}
