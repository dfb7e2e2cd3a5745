import { verify } from 'node:crypto';
import { CLIENT_SECRET_AUDIENCE, MAX_CLIENT_SECRET_LIFETIME } from '../index.js';
import type { ClientRecord } from './clients.js';

/** The verdict on a client secret: accepted, or the OAuth error Apple would answer. */
export type ClientSecretVerdict = { ok: true } | { ok: false; error: 'invalid_client' | 'invalid_request'; description: string };

/** Apple's are about 300 bytes. */
const MAX_SECRET_BYTES = 8 * 1024;

/** Seconds an `iat` may lie ahead of the emulator's clock. */
const IAT_LEEWAY = 60;

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function reject(description: string): ClientSecretVerdict {
  return { ok: false, error: 'invalid_client', description };
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a client secret as Apple does: an ES256 JWT whose `kid` is the client's key ID, signed
 * (raw 64-byte r||s, not DER) by that key, with `iss` = team, `sub` = client_id,
 * `aud` = https://appleid.apple.com, whole-second `iat`/`exp`, not expired, living at most
 * 15777000 s. The signature is checked before any claim, so a claim error is never reported for
 * a secret someone else forged.
 *
 * Every failure is `invalid_client`, except a `sub` that names another client: Apple's TN3107
 * lists a client_id / secret `sub` mismatch under `invalid_request`, and so does the emulator.
 */
export function verifyClientSecret(secret: string, client: ClientRecord, nowSeconds: number): ClientSecretVerdict {
  if (secret.length === 0) return reject('The client_secret is empty.');
  if (Buffer.byteLength(secret) > MAX_SECRET_BYTES) return reject('The client_secret is too large to be a JWT Apple would accept.');
  const parts = secret.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) return reject('The client_secret is not a JWT (three base64url parts).');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h);
  if (!header) return reject('The client_secret header is not a JSON object.');
  if (header.alg !== 'ES256') return reject(`The client_secret is signed with ${JSON.stringify(header.alg)}; Apple accepts ES256 only.`);
  if (header.kid !== client.keyID) return reject(`The client_secret kid ${JSON.stringify(header.kid)} is not the key ID registered for ${client.clientID}.`);
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64) {
    return reject(`The client_secret signature is ${signature.length} bytes; ES256 wants the 64-byte r||s form (a DER signature is 70-72 bytes).`);
  }
  const valid = verify('sha256', Buffer.from(`${h}.${p}`), { key: client.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) return reject(`The client_secret signature does not verify with the key registered as ${client.keyID}.`);
  const claims = decodeJson(p);
  if (!claims) return reject('The client_secret payload is not a JSON object.');
  if (claims.iss !== client.teamID) return reject(`The client_secret iss ${JSON.stringify(claims.iss)} is not the team of ${client.clientID}.`);
  if (claims.sub !== client.clientID) {
    return { ok: false, error: 'invalid_request', description: `The client_secret sub ${JSON.stringify(claims.sub)} does not match client_id ${client.clientID}.` };
  }
  const aud = claims.aud;
  if (!(aud === CLIENT_SECRET_AUDIENCE || (Array.isArray(aud) && aud.includes(CLIENT_SECRET_AUDIENCE)))) {
    return reject(`The client_secret aud must be ${CLIENT_SECRET_AUDIENCE}.`);
  }
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return reject('The client_secret iat must be a whole number of seconds.');
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return reject('The client_secret exp must be a whole number of seconds.');
  if (exp <= nowSeconds) return reject('The client_secret has expired.');
  if (iat > nowSeconds + IAT_LEEWAY) return reject('The client_secret iat is in the future.');
  if (exp <= iat) return reject('The client_secret exp is not after its iat.');
  if (exp - iat > MAX_CLIENT_SECRET_LIFETIME || exp - nowSeconds > MAX_CLIENT_SECRET_LIFETIME) {
    return reject(`The client_secret lives longer than ${MAX_CLIENT_SECRET_LIFETIME} seconds.`);
  }
  return { ok: true };
}
