import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AppleKeySet } from './apple-keys.js';
import { AppleAuthError, AppleIdTokenError } from './errors.js';

/** The issuers Apple signs with. `account.apple.com` is Apple's newer name for the same service. */
export const APPLE_ISSUERS: readonly string[] = ['https://appleid.apple.com', 'https://account.apple.com'];

/** Tokens larger than this are refused before any parsing; Apple's are about 1 KB. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** The claims of a verified Apple id_token. Booleans may arrive as strings; see the profile for normalised values. */
export interface AppleIdTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  iat: number;
  exp: number;
  nonce?: string;
  nonce_supported?: boolean | string;
  email?: string;
  email_verified?: boolean | string;
  is_private_email?: boolean | string;
  real_user_status?: number;
  transfer_sub?: string;
  auth_time?: number;
  at_hash?: string;
  c_hash?: string;
  azp?: string;
}

/** What one verification checks. Every Apple JWT (web, native, notification) goes through {@link verifyAppleJwt}. */
export interface AppleJwtPolicy {
  /** Apple's keys. */
  keys: AppleKeySet;
  /** Accepted `iss` values. */
  issuers: readonly string[];
  /** Accepted `aud` values: your Services ID and/or bundle IDs. */
  audiences: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `iat` (default 60). */
  clockTolerance?: number;
  /** Seconds since `iat` after which the token is refused as too old (default: no limit). */
  maxAge?: number;
  /** Whether `exp` must be present (default true; Apple's notifications may lack it). */
  requireExp?: boolean;
  /**
   * Whether a top-level `sub` must be present (default true). Apple's server-to-server
   * notifications carry the user's `sub` inside `events`, not as a claim; a `sub` that is present
   * is still checked.
   */
  requireSub?: boolean;
  /**
   * Nonce check. `values` lists the acceptable `nonce` claim values (for instance the raw nonce and
   * its SHA-256). `required` (default true) refuses a token without a `nonce` claim.
   */
  nonce?: { values: readonly string[]; required?: boolean };
  /** What the token is, for messages: "id_token", "identity token", "notification". */
  label?: string;
  /** Clock, for tests: milliseconds since the epoch. */
  now?: () => number;
}

function fail(code: ConstructorParameters<typeof AppleIdTokenError>[0], message: string, claim?: string, cause?: unknown): never {
  throw new AppleIdTokenError(code, message, { claim, cause });
}

/** SHA-256 of a string as lowercase hex: what iOS apps conventionally hand Apple as the nonce. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings without leaking where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * Decides whether a JWT from Apple is good: size, RS256 signature by one of Apple's keys, issuer,
 * audience (with the OpenID `azp` rule for several audiences), `exp`, `iat`, `sub` and nonce.
 * The signature is checked before any claim, so a claim error always concerns a token Apple
 * really signed. Throws {@link AppleIdTokenError} naming the failed check, or `AppleKeysError`
 * when Apple's keys cannot be had.
 */
export async function verifyAppleJwt(token: unknown, policy: AppleJwtPolicy): Promise<AppleIdTokenClaims> {
  const label = policy.label ?? 'id_token';
  if (typeof token !== 'string' || token.length === 0) fail('ERR_ID_TOKEN_MISSING', `No ${label} to verify.`);
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
    fail('ERR_ID_TOKEN_TOO_LARGE', `The ${label} is larger than ${MAX_TOKEN_BYTES} bytes; Apple's are about 1 KB.`);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    fail('ERR_ID_TOKEN_MALFORMED', `The ${label} is not a well-formed JWT.`, undefined, cause);
  }
  // Pinned: Apple signs with RS256 only. Taking the algorithm from the header invites confusion attacks.
  if (header.alg !== 'RS256') {
    fail('ERR_ID_TOKEN_ALGORITHM', `The ${label} is signed with "${String(header.alg)}"; Apple signs with RS256 only.`, 'alg');
  }
  const tolerance = policy.clockTolerance ?? 60;
  const nowMs = policy.now ? policy.now() : Date.now();
  let claims: JWTPayload;
  try {
    // Claim checks are done below, with this package's codes; jose checks the signature and types.
    ({ payload: claims } = await jwtVerify(token, policy.keys.getKey, {
      algorithms: ['RS256'],
      clockTolerance: tolerance,
      currentDate: new Date(nowMs),
    }));
  } catch (err) {
    if (err instanceof AppleAuthError) throw err;
    if (err instanceof joseErrors.JWTExpired) fail('ERR_ID_TOKEN_EXPIRED', `The ${label} has expired.`, 'exp', err);
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      fail('ERR_ID_TOKEN_SIGNATURE', `The ${label}'s signature does not verify with Apple's key: it was not signed by Apple, or was altered.`, undefined, err);
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) fail('ERR_ID_TOKEN_ALGORITHM', `The ${label}'s algorithm is not RS256.`, 'alg', err);
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      fail('ERR_ID_TOKEN_CLAIM_INVALID', `The ${label}'s "${err.claim}" claim is invalid (${err.reason}).`, err.claim, err);
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      fail('ERR_ID_TOKEN_KEY_UNKNOWN', `The ${label}'s key "${String(header.kid)}" is not among Apple's published keys.`, undefined, err);
    }
    fail('ERR_ID_TOKEN_MALFORMED', `The ${label} could not be verified: ${(err as Error).message}.`, undefined, err);
  }
  return checkClaims(claims, policy, label, tolerance, Math.floor(nowMs / 1000));
}

function checkClaims(claims: JWTPayload, policy: AppleJwtPolicy, label: string, tolerance: number, now: number): AppleIdTokenClaims {
  if (typeof claims.iss !== 'string' || !policy.issuers.includes(claims.iss)) {
    fail('ERR_ID_TOKEN_ISSUER', `The ${label}'s issuer "${String(claims.iss)}" is not Apple's (${policy.issuers.join(', ')}).`, 'iss');
  }
  checkAudience(claims, policy, label);
  // Notifications name their user inside `events`, so there `sub` may be absent (but not malformed).
  const subMayBeAbsent = claims.sub === undefined && policy.requireSub === false;
  if (!subMayBeAbsent && (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255)) {
    fail('ERR_ID_TOKEN_CLAIM_MISSING', `The ${label} has no usable "sub" (the Apple user ID).`, 'sub');
  }
  if (claims.exp === undefined) {
    if (policy.requireExp !== false) fail('ERR_ID_TOKEN_CLAIM_MISSING', `The ${label} has no "exp" claim.`, 'exp');
  } else if (claims.exp + tolerance < now) {
    fail('ERR_ID_TOKEN_EXPIRED', `The ${label} has expired.`, 'exp');
  }
  if (typeof claims.iat !== 'number') fail('ERR_ID_TOKEN_CLAIM_MISSING', `The ${label} has no "iat" claim.`, 'iat');
  if (claims.iat > now + tolerance) {
    fail('ERR_ID_TOKEN_IAT_FUTURE', `The ${label} was issued ${claims.iat - now} s in the future: check this server's clock.`, 'iat');
  }
  if (policy.maxAge !== undefined && now - claims.iat > policy.maxAge + tolerance) {
    fail('ERR_ID_TOKEN_TOO_OLD', `The ${label} was issued ${now - claims.iat} s ago, more than the ${policy.maxAge} s allowed.`, 'iat');
  }
  if (policy.nonce) {
    const nonce = claims.nonce;
    if (nonce === undefined || nonce === null || nonce === '') {
      if (policy.nonce.required !== false) {
        fail('ERR_ID_TOKEN_NONCE_MISSING', `The ${label} carries no nonce, but one was sent to Apple.`, 'nonce');
      }
    } else if (typeof nonce !== 'string' || !policy.nonce.values.some((v) => safeEqual(v, nonce))) {
      fail('ERR_ID_TOKEN_NONCE', `The ${label}'s nonce does not match the one sent for this sign-in: it may be replayed from another sign-in.`, 'nonce');
    }
  }
  return claims as AppleIdTokenClaims;
}

/**
 * The client a verified token was issued to: its `aud`, or with several audiences its `azp`
 * (which {@link verifyAppleJwt} checked against the configured ones).
 */
export function issuedTo(claims: Pick<AppleIdTokenClaims, 'aud' | 'azp'>): string {
  const aud = claims.aud;
  if (typeof aud === 'string') return aud;
  return aud.length === 1 ? aud[0]! : (claims.azp as string);
}

function checkAudience(claims: JWTPayload, policy: AppleJwtPolicy, label: string): void {
  const aud = claims.aud;
  const expected = policy.audiences.join(', ');
  if (typeof aud === 'string') {
    if (!policy.audiences.includes(aud)) {
      fail('ERR_ID_TOKEN_AUDIENCE', `The ${label} is for "${aud}", not for this app (${expected}).`, 'aud');
    }
    return;
  }
  if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === 'string')) {
    fail('ERR_ID_TOKEN_AUDIENCE', `The ${label} has no usable "aud" claim.`, 'aud');
  }
  if (!aud.some((a) => policy.audiences.includes(a))) {
    fail('ERR_ID_TOKEN_AUDIENCE', `The ${label} is for ${aud.join(', ')}, not for this app (${expected}).`, 'aud');
  }
  // OpenID Connect: a token for several audiences names the one it was issued to in azp.
  if (aud.length > 1) {
    const azp = claims.azp;
    if (typeof azp !== 'string' || !policy.audiences.includes(azp) || !aud.includes(azp)) {
      fail('ERR_ID_TOKEN_AZP', `The ${label} has several audiences and its "azp" (${String(azp)}) is not this app (${expected}).`, 'azp');
    }
  }
}
