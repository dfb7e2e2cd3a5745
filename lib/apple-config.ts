import type { KeyObject } from 'node:crypto';
import { AppleClient, APPLE_TOKEN_URL, checkTimeout, optionalURL, requireString } from './apple-client.js';
import type { FetchLike } from './apple-http.js';
import { AppleKeySet, APPLE_JWKS_URL } from './apple-keys.js';
import { AppleConfigError } from './errors.js';
import { APPLE_ISSUERS } from './id-token.js';
import { loadPrivateKey, type PrivateKeyOptions } from './private-key.js';

/** Options both strategies take: your team and key, Apple's endpoints, clock and HTTP settings. */
export interface AppleSharedOptions extends PrivateKeyOptions {
  /** Your 10-character Apple Team ID. */
  teamID: string;
  /** The 10-character Key ID of your Sign in with Apple key (from `AuthKey_<KEYID>.p8`). */
  keyID: string;
  /** Pass the request as the first argument of `verify` (default false). */
  passReqToCallback?: boolean;
  /** Apple's token URL by default. */
  tokenURL?: string;
  /** Apple's key set URL by default. */
  jwksURL?: string;
  /** Apple's revoke URL by default (used by `strategy.client.revoke`). */
  revokeURL?: string;
  /** Accepted id_token issuers (default `https://appleid.apple.com` and `https://account.apple.com`). */
  issuer?: string | string[];
  /** Seconds of clock skew tolerated on `exp` and `iat` (default 60). */
  clockTolerance?: number;
  /** Seconds each client secret lives (default 300). One is signed for every token request. */
  clientSecretLifetime?: number;
  /** Milliseconds to wait for Apple on each call (default 10000). */
  timeout?: number;
  /** fetch used for every HTTP call this package makes (default: global fetch). */
  fetch?: FetchLike;
  /** A key set to share between strategies (default: one per strategy). */
  keySet?: AppleKeySet;
}

/** What the strategy computed from its options, shared with the native strategy. */
export interface ResolvedAppleConfig {
  key: KeyObject;
  client: AppleClient;
  keySet: AppleKeySet;
  issuers: string[];
  clockTolerance: number;
  fetch: FetchLike | undefined;
  timeout: number;
}

export function asList(value: string | string[] | undefined, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} must be a non-empty string or a list of them.`);
  }
  return list;
}

export function nonNegative(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} must be a non-negative number of seconds.`);
  }
  return value;
}

/** Reads the options both strategies share: credentials, key, endpoints, clock and HTTP settings. */
export function resolveAppleConfig(options: AppleSharedOptions, clientID: string): ResolvedAppleConfig {
  const teamID = requireString(options, 'teamID', 'your 10-character Apple Team ID');
  const keyID = requireString(options, 'keyID', 'the 10-character Key ID of your Sign in with Apple key');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'fetch must be a function (a WHATWG fetch such as node-fetch).');
  }
  const timeout = checkTimeout(options.timeout);
  const key = loadPrivateKey(options);
  const client = new AppleClient({
    clientID,
    teamID,
    keyID,
    privateKey: key,
    tokenURL: optionalURL(options.tokenURL, 'tokenURL', APPLE_TOKEN_URL),
    revokeURL: options.revokeURL,
    clientSecretLifetime: options.clientSecretLifetime,
    fetch: options.fetch,
    timeout,
  });
  const jwksURL = optionalURL(options.jwksURL, 'jwksURL', APPLE_JWKS_URL);
  const keySet = options.keySet ?? new AppleKeySet(jwksURL, { fetch: options.fetch, timeout });
  return {
    key,
    client,
    keySet,
    issuers: asList(options.issuer, 'issuer') ?? [...APPLE_ISSUERS],
    clockTolerance: nonNegative(options.clockTolerance, 'clockTolerance', 60),
    fetch: options.fetch,
    timeout,
  };
}

