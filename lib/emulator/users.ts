import { createHmac } from 'node:crypto';
import { AppleConfigError } from '../index.js';
import type { AppleEmulatorResolvedUser, AppleEmulatorUser } from './types.js';

/** The domain of Hide My Email addresses. */
export const RELAY_DOMAIN = 'privaterelay.appleid.com';

// Fixed keys: the same user gets the same sub and relay address in every run, so tests can pin them.
const SUB_KEY = 'passport-apple-signin emulator sub';
const RELAY_KEY = 'passport-apple-signin emulator relay';

const DEFAULT_USERS: AppleEmulatorUser[] = [
  { email: 'maria.ruiz@example.com', firstName: 'Maria', lastName: 'Ruiz' },
  { email: 'john.appleseed@example.com', firstName: 'John', lastName: 'Appleseed' },
];

const EMAIL = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,189}\.[^\s@<>"]{1,63}$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** A sub in Apple's shape (`001234.<32 hex>.1234`), derived from the email. */
export function deriveSub(email: string): string {
  const h = createHmac('sha256', SUB_KEY).update(email.toLowerCase()).digest('hex');
  const head = (parseInt(h.slice(0, 6), 16) % 1_000_000).toString().padStart(6, '0');
  const tail = (parseInt(h.slice(38, 42), 16) % 10_000).toString().padStart(4, '0');
  return `${head}.${h.slice(6, 38)}.${tail}`;
}

/** The stable relay address of one user for one client: the first 10 hex characters of an HMAC. */
export function relayEmail(sub: string, clientID: string): string {
  return `${createHmac('sha256', RELAY_KEY).update(`${clientID}\n${sub}`).digest('hex').slice(0, 10)}@${RELAY_DOMAIN}`;
}

export function resolveUser(user: AppleEmulatorUser): AppleEmulatorResolvedUser {
  if (!user || typeof user !== 'object' || typeof user.email !== 'string' || !isEmail(user.email)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'Each emulator user needs an email address, e.g. { email: "maria@example.com", firstName: "Maria", lastName: "Ruiz" }.');
  }
  if (user.sub !== undefined && (typeof user.sub !== 'string' || user.sub.length === 0 || user.sub.length > 255)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `The sub of emulator user ${user.email} must be a non-empty string of at most 255 characters.`);
  }
  return {
    sub: user.sub ?? deriveSub(user.email),
    email: user.email,
    firstName: typeof user.firstName === 'string' ? user.firstName : '',
    lastName: typeof user.lastName === 'string' ? user.lastName : '',
  };
}

/** The configured users (or the two defaults), each with a unique sub. */
export function resolveUsers(users: AppleEmulatorUser[] | undefined): AppleEmulatorResolvedUser[] {
  const list = users === undefined ? DEFAULT_USERS : users;
  if (!Array.isArray(list) || list.length === 0) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'users must be a non-empty list; leave it out to get the two default test users.');
  }
  const resolved = list.map(resolveUser);
  const subs = new Set<string>();
  for (const user of resolved) {
    if (subs.has(user.sub)) throw new AppleConfigError('ERR_CONFIG_INVALID', `Two emulator users share the sub "${user.sub}".`);
    subs.add(user.sub);
  }
  return resolved;
}
