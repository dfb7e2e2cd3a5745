import type { KeyObject } from 'node:crypto';
import { postForm, type HttpOptions } from './apple-http.js';
import { checkClientSecretLifetime, signClientSecret } from './client-secret.js';
import { AppleConfigError, AppleUpstreamError } from './errors.js';
import { loadPrivateKey, type PrivateKeyOptions } from './private-key.js';

/** Apple's token endpoint. */
export const APPLE_TOKEN_URL = 'https://appleid.apple.com/auth/token';
/** Apple's revoke endpoint. */
export const APPLE_REVOKE_URL = 'https://appleid.apple.com/auth/revoke';

/** Options of {@link AppleClient}. */
export interface AppleClientOptions extends PrivateKeyOptions, HttpOptions {
  /** The client the tokens belong to: Services ID (web) or bundle ID (native). */
  clientID: string;
  /** Your 10-character Team ID. */
  teamID: string;
  /** The 10-character Key ID of your Sign in with Apple key. */
  keyID: string;
  /** Token endpoint (default Apple's). */
  tokenURL?: string;
  /** Revoke endpoint (default Apple's). */
  revokeURL?: string;
  /** Seconds each client secret is valid (default 300, at most 15777000). A fresh one is signed per request. */
  clientSecretLifetime?: number;
}

/** Apple's token response. `refresh_token` comes only with the authorization_code grant. */
export interface AppleTokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  [extra: string]: unknown;
}

/** Checks that a required string option is set. */
export function requireString(options: object, name: string, what: string): string {
  const value = (options as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} is required: ${what}.`);
  }
  return value.trim();
}

/** Checks an optional absolute http(s) URL option. */
export function optionalURL(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} must be a URL string.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} "${value}" is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} must be an http(s) URL.`);
  }
  return value;
}

/** Checks the `timeout` option. */
export function checkTimeout(timeout: unknown): number {
  if (timeout === undefined) return 10_000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'timeout must be a positive number of milliseconds.');
  }
  return timeout;
}

/**
 * Talks to Apple's token and revoke endpoints with a client secret signed afresh for every request.
 *
 * @example
 * ```ts
 * const apple = new AppleClient({ clientID: 'com.example.web', teamID, keyID, privateKeyLocation: './AuthKey.p8' });
 * await apple.revoke(user.appleRefreshToken, { tokenTypeHint: 'refresh_token' }); // on account deletion
 * ```
 */
export class AppleClient {
  readonly clientID: string;
  readonly teamID: string;
  readonly keyID: string;
  readonly tokenURL: string;
  readonly revokeURL: string;
  private readonly key: KeyObject;
  private readonly lifetime: number;
  private readonly http: HttpOptions;

  constructor(options: AppleClientOptions) {
    if (!options || typeof options !== 'object') throw new AppleConfigError('ERR_CONFIG_INVALID', 'AppleClient needs an options object.');
    this.clientID = requireString(options, 'clientID', 'your Services ID (web) or bundle ID (native)');
    this.teamID = requireString(options, 'teamID', 'your 10-character Apple Team ID');
    this.keyID = requireString(options, 'keyID', 'the 10-character Key ID of your Sign in with Apple key');
    this.tokenURL = optionalURL(options.tokenURL, 'tokenURL', APPLE_TOKEN_URL);
    this.revokeURL = optionalURL(options.revokeURL, 'revokeURL', APPLE_REVOKE_URL);
    this.lifetime = checkClientSecretLifetime(options.clientSecretLifetime);
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'fetch must be a function (a WHATWG fetch such as node-fetch).');
    }
    this.http = { fetch: options.fetch, timeout: checkTimeout(options.timeout) };
    this.key = loadPrivateKey(options);
  }

  /** A freshly signed client secret for `clientID` (default: this client's). */
  clientSecret(clientID: string = this.clientID): string {
    return signClientSecret(this.key, { teamID: this.teamID, keyID: this.keyID, clientID, lifetime: this.lifetime });
  }

  /**
   * Redeems an authorization code. Web codes need the same `redirectURI` as the authorize request;
   * native codes are redeemed with the app's bundle ID as `clientID` and no `redirectURI`.
   */
  async exchangeCode(
    code: string,
    options: { redirectURI?: string; codeVerifier?: string; clientID?: string; extraParams?: Record<string, string> } = {},
  ): Promise<AppleTokenResponse> {
    const clientID = options.clientID ?? this.clientID;
    const form: Record<string, string> = {
      ...options.extraParams,
      grant_type: 'authorization_code',
      code,
      client_id: clientID,
      client_secret: this.clientSecret(clientID),
    };
    if (options.redirectURI !== undefined) form.redirect_uri = options.redirectURI;
    if (options.codeVerifier !== undefined) form.code_verifier = options.codeVerifier;
    const tokens = await this.tokenRequest(form, 'token endpoint');
    if (typeof tokens.id_token !== 'string' || tokens.id_token.length === 0) {
      throw new AppleUpstreamError('ERR_APPLE_NO_ID_TOKEN', "Apple's token endpoint answered 200 without an id_token: check that tokenURL is Apple's /auth/token.", {
        status: 200,
      });
    }
    return tokens;
  }

  /**
   * Validates a refresh token (Apple's way to check that the user still has the app authorized)
   * and returns a new access token. Apple returns no new refresh token, and may throttle calls made
   * more than about once a day per user.
   */
  refresh(refreshToken: string, options: { clientID?: string } = {}): Promise<AppleTokenResponse> {
    if (typeof refreshToken !== 'string' || refreshToken.length === 0) {
      return Promise.reject(new AppleConfigError('ERR_CONFIG_INVALID', 'refresh needs the refresh_token Apple issued with the authorization code.'));
    }
    const clientID = options.clientID ?? this.clientID;
    return this.tokenRequest(
      { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientID, client_secret: this.clientSecret(clientID) },
      'token endpoint',
    );
  }

  /**
   * Revokes a refresh or access token, as Apple requires when a user deletes their account. Apple
   * answers 200 for tokens that were already invalid, so success does not prove the token existed.
   */
  async revoke(token: string, options: { tokenTypeHint?: 'refresh_token' | 'access_token'; clientID?: string } = {}): Promise<void> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new AppleConfigError('ERR_CONFIG_INVALID', 'revoke needs the refresh_token or access_token to revoke.');
    }
    const clientID = options.clientID ?? this.clientID;
    const form: Record<string, string> = { token, client_id: clientID, client_secret: this.clientSecret(clientID) };
    form.token_type_hint = options.tokenTypeHint ?? 'refresh_token';
    const answer = await postForm(this.revokeURL, form, this.http, 'revoke endpoint');
    // Apple answers an empty 200. Anything else (a proxy's HTML page) must not pass for a revocation.
    if (answer.text.trim().length > 0 && !answer.json) {
      throw new AppleUpstreamError(
        'ERR_APPLE_RESPONSE_INVALID',
        "Apple's revoke endpoint answered 200 with a body that is not Apple's empty answer: check revokeURL and any proxy in between; the token may not be revoked.",
        { status: answer.status },
      );
    }
  }

  private async tokenRequest(form: Record<string, string>, what: string): Promise<AppleTokenResponse> {
    const { json } = await postForm(this.tokenURL, form, this.http, what);
    if (!json || typeof json.access_token !== 'string') {
      throw new AppleUpstreamError(
        'ERR_APPLE_RESPONSE_INVALID',
        `Apple's ${what} answered 200 with ${json ? 'JSON without an access_token' : 'a body that is not JSON'}: check that tokenURL is Apple's /auth/token.`,
        { status: 200 },
      );
    }
    return json as AppleTokenResponse;
  }
}
