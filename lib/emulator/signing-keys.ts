import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** A public key as /auth/keys publishes it. */
export interface PublishedKey {
  kty: 'RSA';
  kid: string;
  use: 'sig';
  alg: 'RS256';
  n: string;
  e: string;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: PublishedKey;
}

/** Apple publishes a handful of keys at once; older ones fall off the end. */
const PUBLISHED_KEYS = 3;

const KID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function newKid(): string {
  // Apple's kids are short alphanumerics such as "W6WcOKB".
  return [...randomBytes(7)].map((b) => KID_ALPHABET[b % KID_ALPHABET.length]).join('');
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = newKid();
  const { n, e } = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, jwk: { kty: 'RSA', kid, use: 'sig', alg: 'RS256', n: n!, e: e! } };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The emulator's RS256 keys: one signs, the last few are published. */
export class SigningKeys {
  private keys: SigningKey[] = [newKey()];

  /** The kid of the key that signs now. */
  get currentKid(): string {
    return this.keys[0]!.kid;
  }

  /** A new key becomes the signer; the previous ones stay published. Returns its kid. */
  rotate(): string {
    this.keys = [newKey(), ...this.keys].slice(0, PUBLISHED_KEYS);
    return this.currentKid;
  }

  jwks(): { keys: PublishedKey[] } {
    return { keys: this.keys.map((k) => ({ ...k.jwk })) };
  }

  /** Signs a JWT as Apple does: header `{"kid","alg":"RS256"}`, RSASSA-PKCS1-v1_5 with SHA-256. */
  sign(payload: Record<string, unknown>): string {
    const key = this.keys[0]!;
    const input = `${base64url({ kid: key.kid, alg: 'RS256' })}.${base64url(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  }
}
