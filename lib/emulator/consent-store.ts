/** What a user agreed to share with a client the first time. */
export interface ConsentRecord {
  clientID: string;
  sub: string;
  /** The user's real address, for `forgetConsent({ email })`. */
  email: string;
  /** Hide My Email was chosen; Apple keeps the first choice for later sign-ins. */
  hideEmail: boolean;
}

/** Which users already consented to which clients: a first consent is what brings the `user` field. */
export class ConsentStore {
  private readonly consents = new Map<string, ConsentRecord>();

  private static key(clientID: string, sub: string): string {
    return `${clientID}\n${sub}`;
  }

  get(clientID: string, sub: string): ConsentRecord | undefined {
    return this.consents.get(ConsentStore.key(clientID, sub));
  }

  grant(record: ConsentRecord): void {
    this.consents.set(ConsentStore.key(record.clientID, record.sub), record);
  }

  /** Forgets the consents matching every given field (all of them with no filter). */
  forget(filter: { sub?: string; email?: string; clientID?: string } = {}): number {
    let count = 0;
    for (const [key, record] of this.consents) {
      if (filter.sub !== undefined && record.sub !== filter.sub) continue;
      if (filter.email !== undefined && record.email.toLowerCase() !== filter.email.toLowerCase()) continue;
      if (filter.clientID !== undefined && record.clientID !== filter.clientID) continue;
      this.consents.delete(key);
      count += 1;
    }
    return count;
  }
}
