import { randomBytes } from 'node:crypto';
import { BoundedMap } from './bounded-map.js';
import type { Identity } from './identity.js';

/** Apple's access tokens last an hour. */
export const ACCESS_TOKEN_TTL_S = 3600;

/** One sign-in's refresh token and the access tokens issued under it. */
export interface GrantRecord {
  refreshToken: string;
  clientID: string;
  identity: Identity;
  /** Seconds. */
  authTime: number;
  revoked: boolean;
}

interface AccessRecord {
  refreshToken: string;
  /** Milliseconds. */
  expiresAt: number;
}

function opaque(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('hex')}.0.emu.${randomBytes(12).toString('base64url')}`;
}

/** Refresh and access tokens. Revoking either one invalidates both, as at Apple. */
export class GrantStore {
  private readonly grants = new BoundedMap<string, GrantRecord>(10_000);
  private readonly access = new BoundedMap<string, AccessRecord>(20_000);

  create(clientID: string, identity: Identity, authTime: number): GrantRecord {
    const grant: GrantRecord = { refreshToken: opaque('r'), clientID, identity, authTime, revoked: false };
    this.grants.set(grant.refreshToken, grant);
    return grant;
  }

  /** The live grant of a refresh token. */
  live(refreshToken: string): GrantRecord | undefined {
    const grant = this.grants.get(refreshToken);
    return grant && !grant.revoked ? grant : undefined;
  }

  issueAccessToken(grant: GrantRecord, nowMs: number): string {
    this.access.deleteWhere((a) => a.expiresAt <= nowMs);
    const token = opaque('a');
    this.access.set(token, { refreshToken: grant.refreshToken, expiresAt: nowMs + ACCESS_TOKEN_TTL_S * 1000 });
    return token;
  }

  /** The live grant a refresh or access token (per the hint, then the other kind) belongs to. */
  find(token: string, hint: string | undefined, nowMs: number): GrantRecord | undefined {
    const asRefresh = (): GrantRecord | undefined => this.live(token);
    const asAccess = (): GrantRecord | undefined => {
      const record = this.access.get(token);
      return record && record.expiresAt > nowMs ? this.live(record.refreshToken) : undefined;
    };
    return hint === 'access_token' ? (asAccess() ?? asRefresh()) : (asRefresh() ?? asAccess());
  }

  revoke(grant: GrantRecord): void {
    grant.revoked = true;
    this.access.deleteWhere((a) => a.refreshToken === grant.refreshToken);
  }
}
