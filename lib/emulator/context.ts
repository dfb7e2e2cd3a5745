import { ClientRegistry } from './clients.js';
import { CodeStore } from './code-store.js';
import { ConsentStore } from './consent-store.js';
import { GrantStore } from './grant-store.js';
import { PendingRequests } from './pending-requests.js';
import { SigningKeys } from './signing-keys.js';
import type { AppleEmulatorResolvedUser, AppleEmulatorRevocation, AppleEmulatorStats } from './types.js';

/** Everything the endpoints share. One per emulator. */
export interface EmulatorContext {
  /** Set once the server listens: its origin, used as `iss`. */
  issuer: string;
  /** Milliseconds. */
  now(): number;
  booleans: 'string' | 'boolean';
  tokenLifetime: number;
  notificationURL: string | undefined;
  users: AppleEmulatorResolvedUser[];
  keys: SigningKeys;
  clients: ClientRegistry;
  consents: ConsentStore;
  codes: CodeStore;
  grants: GrantStore;
  pending: PendingRequests;
  stats: AppleEmulatorStats;
  revocations: AppleEmulatorRevocation[];
}

/** Revocations kept for inspection. */
export const MAX_REVOCATIONS = 1000;

export function createContext(settings: Pick<EmulatorContext, 'now' | 'booleans' | 'tokenLifetime' | 'notificationURL' | 'users'>): EmulatorContext {
  return {
    ...settings,
    issuer: '',
    keys: new SigningKeys(),
    clients: new ClientRegistry(),
    consents: new ConsentStore(),
    codes: new CodeStore(),
    grants: new GrantStore(),
    pending: new PendingRequests(),
    stats: { authorizeRequests: 0, tokenRequests: 0, revokeRequests: 0, jwksFetches: 0, notificationsSent: 0 },
    revocations: [],
  };
}

export function nowSeconds(ctx: EmulatorContext): number {
  return Math.floor(ctx.now() / 1000);
}
