import { randomBytes } from 'node:crypto';
import { BoundedMap } from './bounded-map.js';
import type { Identity } from './identity.js';

/** Apple's codes are valid for 5 minutes. */
export const CODE_TTL_MS = 5 * 60 * 1000;

/** What an authorization code stands for. */
export interface CodeRecord {
  clientID: string;
  /** The authorize request's redirect_uri; `undefined` for native codes, which must be redeemed without one. */
  redirectURI: string | undefined;
  identity: Identity;
  /** Raw, as the authorize request carried it. */
  nonce: string | undefined;
  /** S256 PKCE challenge, when the authorize request had one. */
  codeChallenge: string | undefined;
  /** Seconds. */
  authTime: number;
  /** Milliseconds. */
  issuedAt: number;
  used: boolean;
}

/** Single-use authorization codes. Used codes are kept until they expire, to answer "already used". */
export class CodeStore {
  private readonly codes = new BoundedMap<string, CodeRecord>(10_000);

  issue(record: Omit<CodeRecord, 'used'>): string {
    this.codes.deleteWhere((r) => record.issuedAt - r.issuedAt > CODE_TTL_MS);
    // Apple's codes look like "c1f0….0.mrsv.Ab3…"; the shape is opaque to clients.
    const code = `c${randomBytes(16).toString('hex')}.0.emu.${randomBytes(12).toString('base64url')}`;
    this.codes.set(code, { ...record, used: false });
    return code;
  }

  get(code: string): CodeRecord | undefined {
    return this.codes.get(code);
  }
}
