import { createHash } from 'node:crypto';

/** Who signed in and which email claims their tokens carry. */
export interface Identity {
  sub: string;
  /** The address tokens carry: the real one, or the relay address when hidden. */
  email: string;
  isPrivateEmail: boolean;
  /** Whether the email scope was granted (native sign-ins always include the email). */
  includeEmail: boolean;
}

/** OpenID Connect's at_hash / c_hash: base64url of the left half of the SHA-256 of the value. */
export function leftHalfHash(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest().subarray(0, 16).toString('base64url');
}
