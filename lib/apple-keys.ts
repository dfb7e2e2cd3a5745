import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { request, parseJsonObject, type HttpOptions } from './apple-http.js';
import { AppleIdTokenError, AppleKeysError } from './errors.js';

/** Apple's published signing keys. */
export const APPLE_JWKS_URL = 'https://appleid.apple.com/auth/keys';

/** Tuning of the key cache. The defaults suit Apple's rare key rotations. */
export interface AppleKeySetOptions extends HttpOptions {
  /** Milliseconds before a known-good key set is refreshed in the background of a login (default 1 h). */
  maxAge?: number;
  /** Milliseconds between two fetches triggered by an unknown `kid` (default 30 s). */
  cooldown?: number;
  /** Milliseconds to wait after a failed fetch before trying again (default 5 s). */
  failureBackoff?: number;
}

/**
 * One cache of Apple's JWKS, shared by every verification a strategy makes.
 *
 * jose's own remote key set drops to an outage when a refresh fails after its cache aged, and
 * refetches on every call while Apple's endpoint is failing. This one keeps serving the last good
 * keys while Apple's key endpoint is down, fetches at most once per `failureBackoff` while it
 * fails, once per `cooldown` for unknown `kid`s, and shares one in-flight fetch between
 * concurrent logins.
 */
export class AppleKeySet {
  readonly url: string;
  private readonly options: Required<Pick<AppleKeySetOptions, 'maxAge' | 'cooldown' | 'failureBackoff'>> & HttpOptions;
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private notBefore = 0;
  private lastUnknownKidFetch = 0;
  private pending: Promise<void> | undefined;
  private lastError: Error | undefined;
  /** How many times the key set was fetched (for diagnostics and tests). */
  fetchCount = 0;

  constructor(url: string = APPLE_JWKS_URL, options: AppleKeySetOptions = {}) {
    this.url = url;
    this.options = {
      maxAge: options.maxAge ?? 3600_000,
      cooldown: options.cooldown ?? 30_000,
      failureBackoff: options.failureBackoff ?? 5_000,
      fetch: options.fetch,
      timeout: options.timeout,
    };
  }

  /** The key resolver to hand to jose's `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.local) await this.refresh();
    // Aged keys are refreshed in the background: a slow key endpoint must not slow logins down.
    else if (Date.now() - this.fetchedAt > this.options.maxAge) void this.refresh();
    if (!this.local) {
      throw new AppleKeysError(
        'ERR_JWKS_UNAVAILABLE',
        `Apple's signing keys could not be fetched from ${this.url} (${this.lastError?.message ?? 'not fetched yet'}); logins cannot be verified until it answers.`,
        { cause: this.lastError },
      );
    }
    try {
      return await this.local(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      // Apple rotated its keys, or the token is forged: look again, but not more than once a cooldown.
      const before = this.local;
      if (Date.now() - this.lastUnknownKidFetch >= this.options.cooldown) {
        this.lastUnknownKidFetch = Date.now();
        await this.refresh(true);
      }
      if (this.local !== before) {
        try {
          return await this.local(header, token);
        } catch (again) {
          if (!(again instanceof joseErrors.JWKSNoMatchingKey)) throw again;
        }
      }
      throw new AppleIdTokenError(
        'ERR_ID_TOKEN_KEY_UNKNOWN',
        `The token is signed with key "${String(header.kid)}", which is not among Apple's published keys.`,
      );
    }
  };

  /**
   * Fetches the key set now unless a fetch is under way or not yet allowed: while Apple's endpoint
   * fails, not before `failureBackoff` has passed; otherwise (unless `force`d by an unknown `kid`,
   * itself limited to one per cooldown) not within `cooldown` of the last fetch. Never throws.
   */
  refresh(force = false): Promise<void> {
    if (this.pending) return this.pending;
    if (Date.now() < (force && !this.lastError ? 0 : this.notBefore)) return Promise.resolve();
    this.pending = this.load().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async load(): Promise<void> {
    this.fetchCount += 1;
    try {
      const response = await request(this.url, { method: 'GET', headers: { accept: 'application/json' } }, this.options, 'key endpoint');
      const json = parseJsonObject(response.text);
      if (response.status !== 200 || !json || !Array.isArray(json.keys)) {
        throw new Error(`HTTP ${response.status}${json ? '' : ', not JSON'}${json && !Array.isArray(json.keys) ? ', no "keys"' : ''}`);
      }
      const keys = (json.keys as unknown[]).filter((k) => typeof k === 'object' && k !== null);
      this.local = createLocalJWKSet({ keys } as JSONWebKeySet);
      this.fetchedAt = Date.now();
      this.notBefore = this.fetchedAt + this.options.cooldown;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.notBefore = Date.now() + this.options.failureBackoff;
    }
  }
}
