/**
 * Every error this package raises is an {@link AppleAuthError} with a stable `code`, so a
 * `switch (err.code)` is all a caller needs. Subclasses each mean one thing:
 *
 * - {@link AppleConfigError}: the strategy or client was configured wrongly (thrown at construction).
 * - {@link AppleStateError}: the `state` round trip through Apple did not check out.
 * - {@link AppleAuthorizationError}: Apple's callback carried an `error` (the user cancelled).
 * - {@link AppleCallbackError}: the callback request itself was unusable (no code, bad body).
 * - {@link AppleTokenError}: Apple's token or revoke endpoint answered an OAuth error.
 * - {@link AppleUpstreamError}: Apple could not be reached or answered something unusable.
 * - {@link AppleIdTokenError}: a JWT from Apple (id_token, identity token, notification) was rejected.
 * - {@link AppleKeysError}: Apple's signing keys could not be had at all.
 * - {@link AppleNotificationError}: a server-to-server notification was unusable or replayed.
 *
 * @module
 */

/** Stable machine-readable codes. See the README's error table for what to do about each. */
export type AppleErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_PRIVATE_KEY_MISSING'
  | 'ERR_PRIVATE_KEY_INVALID'
  | 'ERR_PRIVATE_KEY_UNREADABLE'
  | 'ERR_STATE_MISSING'
  | 'ERR_STATE_PARAM_MISSING'
  | 'ERR_STATE_MISMATCH'
  | 'ERR_STATE_EXPIRED'
  | 'ERR_STATE_INVALID'
  | 'ERR_STATE_REUSED'
  | 'ERR_STATE_STORE'
  | 'ERR_AUTHORIZATION_CANCELLED'
  | 'ERR_AUTHORIZATION_FAILED'
  | 'ERR_CALLBACK_CODE_MISSING'
  | 'ERR_CALLBACK_BODY_INVALID'
  | 'ERR_CALLBACK_BODY_TOO_LARGE'
  | 'ERR_CALLBACK_BODY_TIMEOUT'
  | 'ERR_NATIVE_TOKEN_MISSING'
  | 'ERR_NATIVE_BODY_INVALID'
  | 'ERR_NATIVE_NONCE_MISSING'
  | 'ERR_NATIVE_SUB_MISMATCH'
  | 'ERR_NATIVE_TOKEN_REPLAYED'
  | 'ERR_TOKEN_INVALID_GRANT'
  | 'ERR_TOKEN_INVALID_CLIENT'
  | 'ERR_TOKEN_INVALID_REQUEST'
  | 'ERR_TOKEN_UNAUTHORIZED_CLIENT'
  | 'ERR_TOKEN_UNSUPPORTED_GRANT_TYPE'
  | 'ERR_TOKEN_INVALID_SCOPE'
  | 'ERR_TOKEN_ERROR'
  | 'ERR_APPLE_TIMEOUT'
  | 'ERR_APPLE_NETWORK'
  | 'ERR_APPLE_HTTP_STATUS'
  | 'ERR_APPLE_RESPONSE_INVALID'
  | 'ERR_APPLE_NO_ID_TOKEN'
  | 'ERR_ID_TOKEN_MISSING'
  | 'ERR_ID_TOKEN_TOO_LARGE'
  | 'ERR_ID_TOKEN_MALFORMED'
  | 'ERR_ID_TOKEN_ALGORITHM'
  | 'ERR_ID_TOKEN_KEY_UNKNOWN'
  | 'ERR_ID_TOKEN_SIGNATURE'
  | 'ERR_ID_TOKEN_ISSUER'
  | 'ERR_ID_TOKEN_AUDIENCE'
  | 'ERR_ID_TOKEN_AZP'
  | 'ERR_ID_TOKEN_EXPIRED'
  | 'ERR_ID_TOKEN_IAT_FUTURE'
  | 'ERR_ID_TOKEN_TOO_OLD'
  | 'ERR_ID_TOKEN_CLAIM_MISSING'
  | 'ERR_ID_TOKEN_CLAIM_INVALID'
  | 'ERR_ID_TOKEN_NONCE'
  | 'ERR_ID_TOKEN_NONCE_MISSING'
  | 'ERR_JWKS_UNAVAILABLE'
  | 'ERR_NOTIFICATION_INVALID'
  | 'ERR_NOTIFICATION_EVENT_UNKNOWN'
  | 'ERR_NOTIFICATION_REPLAYED';

/** Base class of every error raised by passport-apple-signin. */
export class AppleAuthError extends Error {
  /** Stable machine-readable code, e.g. `ERR_ID_TOKEN_AUDIENCE`. */
  readonly code: AppleErrorCode;

  constructor(code: AppleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Wrong or missing configuration. Thrown when the strategy or client is created, never at login. */
export class AppleConfigError extends AppleAuthError {}

/** The OAuth `state` did not survive the round trip through Apple, or was forged, expired or reused. */
export class AppleStateError extends AppleAuthError {}

/** Apple's callback carried an `error` parameter, such as `user_cancelled_authorize`. */
export class AppleAuthorizationError extends AppleAuthError {
  /** The `error` value Apple sent, e.g. `user_cancelled_authorize`. */
  readonly appleError: string;

  constructor(code: AppleErrorCode, appleError: string, message: string) {
    super(code, message);
    this.appleError = appleError;
  }
}

/** The callback (or native sign-in) request could not be used: no code, an unreadable body. */
export class AppleCallbackError extends AppleAuthError {}

/** An OAuth error answered by Apple's token or revoke endpoint (RFC 6749 section 5.2). */
export class AppleTokenError extends AppleAuthError {
  /** The OAuth `error` Apple answered, e.g. `invalid_grant`. */
  readonly oauthError: string;
  /** Apple's `error_description`, when it sent one. */
  readonly description: string | undefined;
  /** What usually causes this error and what to check. */
  readonly hint: string;
  /** The HTTP status Apple answered with. */
  readonly status: number;

  constructor(oauthError: string, description: string | undefined, status: number, hint: string) {
    const code = TOKEN_ERROR_CODES[oauthError] ?? 'ERR_TOKEN_ERROR';
    const detail = description ? `: ${description.replace(/[.\s]+$/, '')}` : '';
    super(code, `Apple answered ${oauthError}${detail}. ${hint}`);
    this.oauthError = oauthError;
    this.description = description;
    this.hint = hint;
    this.status = status;
  }
}

const TOKEN_ERROR_CODES: Record<string, AppleErrorCode> = {
  invalid_grant: 'ERR_TOKEN_INVALID_GRANT',
  invalid_client: 'ERR_TOKEN_INVALID_CLIENT',
  invalid_request: 'ERR_TOKEN_INVALID_REQUEST',
  unauthorized_client: 'ERR_TOKEN_UNAUTHORIZED_CLIENT',
  unsupported_grant_type: 'ERR_TOKEN_UNSUPPORTED_GRANT_TYPE',
  invalid_scope: 'ERR_TOKEN_INVALID_SCOPE',
};

/** Apple could not be reached in time, or answered with something that is not a usable response. */
export class AppleUpstreamError extends AppleAuthError {
  /** The HTTP status, when Apple answered at all. */
  readonly status: number | undefined;

  constructor(code: AppleErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    this.status = options?.status;
  }
}

/** A JWT from Apple was rejected. `code` names the check that failed. */
export class AppleIdTokenError extends AppleAuthError {
  /** The claim that failed its check, when one did. */
  readonly claim: string | undefined;

  constructor(code: AppleErrorCode, message: string, options?: { cause?: unknown; claim?: string }) {
    super(code, message, options);
    this.claim = options?.claim;
  }
}

/** Apple's signing keys (JWKS) could not be fetched and none are cached. An outage, not a bad token. */
export class AppleKeysError extends AppleAuthError {}

/** A server-to-server notification was malformed, of an unknown type, or replayed. */
export class AppleNotificationError extends AppleAuthError {}
