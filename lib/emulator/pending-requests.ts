import { randomBytes } from 'node:crypto';
import { BoundedMap } from './bounded-map.js';

/** A consent page stays usable this long. */
export const PENDING_TTL_MS = 10 * 60 * 1000;

/** A checked authorize request waiting for the user's Continue or Cancel. */
export interface PendingRequest {
  clientID: string;
  redirectURI: string;
  responseType: 'code' | 'code id_token';
  responseMode: 'query' | 'fragment' | 'form_post';
  scopes: string[];
  state: string | undefined;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  /** Milliseconds. */
  createdAt: number;
}

/**
 * Authorize requests held on the server under a random id: the consent page only carries the id,
 * so the browser cannot change the client, redirect_uri or scopes between the two steps.
 */
export class PendingRequests {
  private readonly pending = new BoundedMap<string, PendingRequest>(1000);

  add(request: PendingRequest): string {
    this.pending.deleteWhere((r) => request.createdAt - r.createdAt > PENDING_TTL_MS);
    const id = randomBytes(18).toString('base64url');
    this.pending.set(id, request);
    return id;
  }

  /** The live request with that id. */
  get(id: string, nowMs: number): PendingRequest | undefined {
    const request = this.pending.get(id);
    if (!request) return undefined;
    if (nowMs - request.createdAt > PENDING_TTL_MS) {
      this.pending.delete(id);
      return undefined;
    }
    return request;
  }

  /** Each consent page answers once: a second submit finds nothing. */
  take(id: string): void {
    this.pending.delete(id);
  }
}
