/**
 * A Map that never holds more than `limit` entries: adding one more drops the oldest. Every store in
 * the emulator is one of these, so a test (or a hostile client) that creates codes, tokens or
 * pending sign-ins in a loop cannot make the process grow without bound.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Removes every entry `drop` says yes to; returns how many went. */
  deleteWhere(drop: (value: V, key: K) => boolean): number {
    let count = 0;
    for (const [key, value] of this.map) {
      if (drop(value, key)) {
        this.map.delete(key);
        count += 1;
      }
    }
    return count;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
