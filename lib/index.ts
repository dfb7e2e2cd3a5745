/**
 * Sign in with Apple for Passport.
 *
 * @example
 * ```ts
 * import { AppleStrategy } from 'passport-apple-signin';
 * passport.use(new AppleStrategy({ clientID, teamID, keyID, privateKeyLocation, callbackURL }, verify));
 * ```
 * @module
 */
export { AppleStrategy, AppleStrategy as Strategy, APPLE_AUTHORIZATION_URL } from './strategy.js';
export type {
  AppleStrategyOptions,
  AppleVerifyCallback,
  AppleVerifyFunction,
  AppleVerifyFunctionWithRequest,
  AppleVerify4,
  AppleVerify5,
  AppleVerifyWithRequest5,
  AppleVerifyWithRequest6,
  AppleStateStore,
} from './strategy.js';
export { AppleClient, APPLE_TOKEN_URL, APPLE_REVOKE_URL } from './apple-client.js';
export type { AppleClientOptions, AppleTokenResponse } from './apple-client.js';
export type { AppleSharedOptions } from './apple-config.js';
export { AppleKeySet, APPLE_JWKS_URL } from './apple-keys.js';
export type { AppleKeySetOptions } from './apple-keys.js';
export type { FetchLike, FetchResponseLike, HttpOptions } from './apple-http.js';
export { signClientSecret, CLIENT_SECRET_AUDIENCE, MAX_CLIENT_SECRET_LIFETIME } from './client-secret.js';
export type { ClientSecretClaims } from './client-secret.js';
export { verifyAppleJwt, sha256Hex, APPLE_ISSUERS } from './id-token.js';
export type { AppleIdTokenClaims, AppleJwtPolicy } from './id-token.js';
export { CookieStateStore } from './state-store.js';
export type { CookieStateStoreOptions } from './state-store.js';
export { appleBoolean } from './profile.js';
export type { AppleProfile, AppleRealUserStatus } from './profile.js';
export type { AppleUserName } from './user-field.js';
export type { PrivateKeyOptions } from './private-key.js';
export {
  AppleAuthError,
  AppleConfigError,
  AppleStateError,
  AppleAuthorizationError,
  AppleCallbackError,
  AppleTokenError,
  AppleUpstreamError,
  AppleIdTokenError,
  AppleKeysError,
  AppleNotificationError,
} from './errors.js';
export type { AppleErrorCode } from './errors.js';
export { AppleTokenStrategy, DEFAULT_IDENTITY_TOKEN_MAX_AGE } from './token-strategy.js';
export type {
  AppleTokenStrategyOptions,
  AppleNonceEncoding,
  AppleTokenStrategyParams,
  AppleTokenVerifyFunction,
  AppleTokenVerifyFunctionWithRequest,
  AppleTokenProfileVerifyFunction,
  AppleTokenParamsVerifyFunction,
  AppleTokenProfileVerifyFunctionWithRequest,
  AppleTokenParamsVerifyFunctionWithRequest,
} from './token-strategy.js';
export { verifyNotification, appleNotifications, DEFAULT_NOTIFICATION_MAX_AGE } from './notifications.js';
export type {
  AppleNotification,
  AppleNotificationType,
  AppleNotificationClaims,
  AppleNotificationEvent,
  VerifyNotificationOptions,
  AppleNotificationsOptions,
  AppleNotificationHandler,
  AppleNotificationsMiddleware,
} from './notifications.js';
export { MemoryReplayStore } from './replay-store.js';
export type { ReplayStore, MemoryReplayStoreOptions } from './replay-store.js';
