/**
 * Remembers the `jti` of every notification accepted, so the same signed notification cannot be
 * delivered twice. Use a shared store (Redis, a database table with a unique key) when several
 * processes receive notifications; the in-memory default protects one process only.
 *
 * @example
 * ```ts
 * // Redis: SET with NX is the atomic "record unless already there" this interface needs.
 * const replayStore: ReplayStore = {
 *   async seen(jti, expiresAt) {
 *     return (await redis.set(`apple:jti:${jti}`, '1', { NX: true, EXAT: expiresAt })) === null;
 *   },
 *   async forget(jti) {
 *     await redis.del(`apple:jti:${jti}`);
 *   },
 * };
 * ```
 */
export interface ReplayStore {
  /**
   * Records `jti` until `expiresAt` (Unix time in seconds) and says whether it was already
   * recorded and not yet expired. Must be atomic: two concurrent calls with one `jti` must not
   * both answer false.
   */
  seen(jti: string, expiresAt: number): Promise<boolean> | boolean;
  /**
   * Forgets `jti`. The notification middleware calls it when your handler failed, so that Apple's
   * retry of that notification is processed instead of refused as a replay. Without it, a
   * notification whose handler failed stays recorded until it expires.
   */
  forget?(jti: string): Promise<void> | void;
}

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most `jti`s kept at once (default 50000, about 5 MB). The oldest is dropped beyond that. */
  maxEntries?: number;
  /** Clock, for tests: milliseconds since the epoch. */
  now?: () => number;
}

/**
 * An in-memory, bounded {@link ReplayStore} for a single process. Expired entries are swept as
 * new ones arrive; when `maxEntries` unexpired entries are held, the oldest is dropped, which
 * reopens a replay window for that one notification rather than growing without bound.
 *
 * @example
 * ```ts
 * app.post('/apple/notifications', appleNotifications({ clientIDs: ['com.example.app'], replayStore: new MemoryReplayStore({ maxEntries: 10_000 }) }, handler));
 * ```
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.maxEntries ?? 50_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxEntries must be a positive whole number.');
    this.maxEntries = max;
    this.now = options.now ?? Date.now;
  }

  /** How many `jti`s are held now (expired ones may linger until the next sweep). */
  get size(): number {
    return this.entries.size;
  }

  seen(jti: string, expiresAt: number): boolean {
    const nowSeconds = this.now() / 1000;
    const known = this.entries.get(jti);
    if (known !== undefined && known > nowSeconds) return true;
    if (nowSeconds >= this.nextSweep) this.sweep(nowSeconds);
    this.entries.delete(jti);
    while (this.entries.size >= this.maxEntries) {
      // Map iterates in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(jti, expiresAt);
    return false;
  }

  forget(jti: string): void {
    this.entries.delete(jti);
  }

  private sweep(nowSeconds: number): void {
    for (const [jti, expiresAt] of this.entries) if (expiresAt <= nowSeconds) this.entries.delete(jti);
    // A full sweep at most once a minute keeps `seen` O(1) on average.
    this.nextSweep = nowSeconds + 60;
  }
}
