// A fake Apple for tests: Apple's RS256 signing keys and JWKS, an id_token signer, and a client key.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';

export const APPLE_ISSUER = 'https://appleid.apple.com';
export const CLIENT_ID = 'com.example.web';
export const TEAM_ID = 'TEAM123456';
export const KEY_ID = 'KEY1234567';
export const CALLBACK_URL = 'https://app.example.com/auth/apple/callback';

export interface AppleSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

/** A fresh RSA key as Apple publishes them: kty RSA, alg RS256, use sig. */
export async function appleSigningKey(kid = 'apple-key-1'): Promise<AppleSigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

/** The JWKS document Apple serves at /auth/keys. */
export function jwksOf(...keys: AppleSigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** A client (.p8-style) EC P-256 key in PKCS#8 PEM, as downloaded from Apple. */
export function clientKeyPair(): { pem: string; privateKey: KeyObject; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), privateKey, publicKey };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs an id_token the way Apple does (RS256 with a kid), with sensible default claims. */
export async function signIdToken(
  key: AppleSigningKey,
  claims: JWTPayload & Record<string, unknown> = {},
  options: { header?: Record<string, unknown>; omit?: string[] } = {},
): Promise<string> {
  const iat = nowSeconds();
  const payload: Record<string, unknown> = {
    iss: APPLE_ISSUER,
    aud: CLIENT_ID,
    sub: '001234.abcdef0123456789abcdef0123456789.1234',
    iat,
    exp: iat + 86400,
    email: 'maria@example.com',
    email_verified: 'true',
    is_private_email: 'false',
    auth_time: iat,
    nonce_supported: true,
    ...claims,
  };
  for (const name of options.omit ?? []) delete payload[name];
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...options.header } as { alg: string })
    .sign(key.privateKey);
}

/** Decodes a JWT's parts without verifying it (for asserting what was sent). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: Buffer } {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()),
    signature: Buffer.from(s!, 'base64url'),
  };
}
