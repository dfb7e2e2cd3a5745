import { sign, type KeyObject } from 'node:crypto';
import { AppleConfigError } from './errors.js';

/** The audience Apple requires in every client secret. */
export const CLIENT_SECRET_AUDIENCE = 'https://appleid.apple.com';

/** Apple refuses a client secret whose `exp` lies more than this many seconds after its `iat`. */
export const MAX_CLIENT_SECRET_LIFETIME = 15777000;

/** What goes into a client secret. */
export interface ClientSecretClaims {
  /** The 10-character Team ID: the secret's `iss`. */
  teamID: string;
  /** The 10-character Key ID of the Sign in with Apple key: the header's `kid`. */
  keyID: string;
  /** The client the secret is for (Services ID or bundle ID): the secret's `sub`. */
  clientID: string;
  /** Lifetime in seconds (default 300). */
  lifetime?: number;
  /** Clock, for tests: milliseconds since the epoch. */
  now?: number;
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Checks a client-secret lifetime option; returns it in whole seconds. */
export function checkClientSecretLifetime(lifetime: number | undefined): number {
  if (lifetime === undefined) return 300;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_CLIENT_SECRET_LIFETIME) {
    throw new AppleConfigError(
      'ERR_CONFIG_INVALID',
      `clientSecretLifetime must be a whole number of seconds between 1 and ${MAX_CLIENT_SECRET_LIFETIME}; a few minutes is best, since a secret is signed for every request.`,
    );
  }
  return lifetime;
}

/**
 * Signs the ES256 client secret Apple wants with every token and revoke request.
 *
 * The signature is the raw 64-byte r||s form JWS requires (`dsaEncoding: 'ieee-p1363'`): Node's
 * default DER encoding is what makes hand-rolled secrets fail with `invalid_client`.
 * `iat` and `exp` are whole seconds; milliseconds there would put `exp` decades out.
 */
export function signClientSecret(key: KeyObject, claims: ClientSecretClaims): string {
  const iat = Math.floor((claims.now ?? Date.now()) / 1000);
  const lifetime = checkClientSecretLifetime(claims.lifetime);
  const header = { alg: 'ES256', kid: claims.keyID, typ: 'JWT' };
  const payload = {
    iss: claims.teamID,
    iat,
    exp: iat + lifetime,
    aud: CLIENT_SECRET_AUDIENCE,
    sub: claims.clientID,
  };
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}
