import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppleStateError } from './errors.js';

/** Longest a sign-in may take between the redirect to Apple and the callback. */
export const MAX_STATE_TTL = 600;

/** Options of {@link CookieStateStore}. */
export interface CookieStateStoreOptions {
  /** Secret key material (32+ bytes); the strategy derives it from `stateSecret` or the private key. */
  secret: Buffer;
  /** Seconds a sign-in may take (default and maximum 600). */
  ttl?: number;
  /** Cookie name prefix (default `apple_state`). */
  cookieName?: string;
  /** Clock, for tests: milliseconds since the epoch. */
  now?: () => number;
}

/** What passport-oauth2 hands a state store alongside the request. */
export interface StateStoreMeta {
  authorizationURL?: string;
  tokenURL?: string;
  clientID?: string;
  callbackURL?: string;
}

type StoreCallback = (err: Error | null, state?: string) => void;
type VerifyCallback = (err: Error | null, ok: boolean, stateOrInfo?: unknown) => void;

interface StateRecord {
  /** Expiry, seconds since the epoch. */
  e: number;
  /** Cookie path, to clear the cookie where it was set. */
  p: string;
  /** Application state passed as `authenticate('apple', { state: {...} })`. */
  a?: unknown;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** Parses a Cookie header into a map, keeping the first value of each name as browsers order them. */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  const text = Array.isArray(header) ? header.join('; ') : header ?? '';
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('Set-Cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('Set-Cookie', [...list, cookie]);
}

function cookiePathOf(callbackURL: string | undefined): string {
  if (!callbackURL) return '/';
  try {
    return new URL(callbackURL, 'http://localhost').pathname || '/';
  } catch {
    return '/';
  }
}

/**
 * The default state store: it needs no session and survives Apple's cross-site form_post.
 *
 * Apple posts the callback from appleid.apple.com, a different site, so browsers withhold
 * `SameSite=Lax` cookies, express-session's included, and session-backed state fails there. This
 * store keeps each sign-in in its own short-lived cookie, `SameSite=None; Secure; HttpOnly`,
 * scoped to the callback path and named after the `state` value, so two tabs never clash. The
 * record inside is encrypted and authenticated (AES-256-GCM) with a key every instance of the app
 * derives from the same configuration, so no shared storage is needed, and sealed to a random
 * per-browser value kept in a `__Host-` cookie, which other subdomains cannot plant. A record is single use:
 * the callback clears the cookie, and this process also remembers the states it has accepted
 * until they expire.
 */
export class CookieStateStore {
  private readonly key: Buffer;
  private readonly ttl: number;
  private readonly prefix: string;
  private readonly bindingName: string;
  private readonly now: () => number;
  private readonly used = new Map<string, number>();

  constructor(options: CookieStateStoreOptions) {
    if (!Buffer.isBuffer(options.secret) || options.secret.length < 32) {
      throw new TypeError('CookieStateStore needs a secret of at least 32 bytes.');
    }
    this.key = Buffer.from(hkdfSync('sha256', options.secret, 'passport-apple-signin', 'state-record-v1', 32));
    this.ttl = Math.min(options.ttl ?? MAX_STATE_TTL, MAX_STATE_TTL);
    this.prefix = options.cookieName ?? 'apple_state';
    this.bindingName = `__Host-${this.prefix}_browser`;
    this.now = options.now ?? Date.now;
  }

  /** Passport-oauth2's store hook: makes a new state, sets its cookie, hands the state back. */
  store(req: IncomingMessage, appState: unknown, meta: StateStoreMeta, callback: StoreCallback): void {
    const res = (req as IncomingMessage & { res?: ServerResponse }).res;
    if (!res || typeof res.setHeader !== 'function') {
      callback(
        new AppleStateError(
          'ERR_STATE_STORE',
          'The default state store sets a cookie through req.res, which this framework does not provide: pass a `store` option (any passport-oauth2 state store).',
        ),
      );
      return;
    }
    const id = randomBytes(24).toString('base64url');
    const known = parseCookies(req.headers.cookie).get(this.bindingName);
    const binding = known !== undefined && ID_PATTERN.test(known) ? known : randomBytes(24).toString('base64url');
    const path = cookiePathOf(meta.callbackURL);
    const record: StateRecord = { e: Math.floor(this.now() / 1000) + this.ttl, p: path };
    if (appState !== undefined && appState !== null) record.a = appState;
    const name = `${this.prefix}_${id}`;
    if (JSON.stringify(record).length > 1024) {
      callback(new AppleStateError('ERR_STATE_STORE', 'The application state passed to authenticate() is too large for the state cookie: keep it under 1 KB (store an ID, not the data).'));
      return;
    }
    const value = this.seal(name, binding, record);
    // Max-Age outlives the record by a minute so an expired record is told apart from a missing one.
    appendSetCookie(res, `${name}=${value}; Path=${path}; Max-Age=${this.ttl + 60}; HttpOnly; Secure; SameSite=None`);
    // The record is sealed to this browser's binding. A __Host- cookie cannot be set by a sibling
    // subdomain, so a record planted there ("cookie tossing") does not open here.
    appendSetCookie(res, `${this.bindingName}=${binding}; Path=/; Max-Age=${this.ttl + 60}; HttpOnly; Secure; SameSite=None`);
    callback(null, id);
  }

  /** Passport-oauth2's verify hook: `callback(null, true, appState)` or `callback(null, false, AppleStateError)`. */
  verify(req: IncomingMessage, providedState: unknown, callback: VerifyCallback): void {
    const result = this.check(req, providedState);
    if (result instanceof AppleStateError) {
      callback(null, false, result);
      return;
    }
    callback(null, true, result);
  }

  private check(req: IncomingMessage, providedState: unknown): unknown {
    const cookies = parseCookies(req.headers.cookie);
    const ours = [...cookies.keys()].filter((name) => name.startsWith(`${this.prefix}_`));
    if (typeof providedState !== 'string' || providedState.length === 0) {
      return new AppleStateError('ERR_STATE_PARAM_MISSING', 'The callback carries no state parameter: start the sign-in again from this site.');
    }
    const name = `${this.prefix}_${providedState}`;
    const sealed = ID_PATTERN.test(providedState) ? cookies.get(name) : undefined;
    if (sealed === undefined) {
      if (ours.length > 0) {
        return new AppleStateError(
          'ERR_STATE_MISMATCH',
          'The state returned by Apple does not match any sign-in started in this browser: it was altered, or the sign-in was started elsewhere.',
        );
      }
      return new AppleStateError(
        'ERR_STATE_MISSING',
        'No sign-in record came with the callback: the browser did not send the state cookie on Apple\'s cross-site POST. ' +
          'This happens when the cookie was blocked or dropped (it needs SameSite=None; Secure, so the site must be served over HTTPS or on localhost), ' +
          'when the callback path differs from callbackURL, when the sign-in started on another host name than callbackURL\'s ' +
          '(127.0.0.1 and localhost are different sites), or when it was started in another browser.',
      );
    }
    const res = (req as IncomingMessage & { res?: ServerResponse }).res;
    const binding = cookies.get(this.bindingName);
    if (binding === undefined) {
      return new AppleStateError(
        'ERR_STATE_MISSING',
        `The sign-in record came without its browser cookie (${this.bindingName}): the browser did not send it on Apple's cross-site POST, ` +
          'or it was cleared. It needs SameSite=None; Secure, so the site must be served over HTTPS or on localhost.',
      );
    }
    const record = this.open(name, binding, sealed);
    if (!record) {
      if (res) this.clear(res, name, cookiePathOf(req.url));
      return new AppleStateError('ERR_STATE_INVALID', 'The sign-in record could not be authenticated: it was tampered with, or stateSecret/privateKey changed since it was issued.');
    }
    if (res) this.clear(res, name, record.p);
    const nowSeconds = Math.floor(this.now() / 1000);
    if (record.e < nowSeconds) {
      return new AppleStateError('ERR_STATE_EXPIRED', `The sign-in took longer than ${this.ttl} seconds: start it again.`);
    }
    this.forgetExpired(nowSeconds);
    if (this.used.has(providedState)) {
      return new AppleStateError('ERR_STATE_REUSED', 'This sign-in was already completed: its callback was submitted twice. Start it again.');
    }
    this.used.set(providedState, record.e);
    return record.a;
  }

  private forgetExpired(nowSeconds: number): void {
    if (this.used.size < 1000) return;
    for (const [id, expiry] of this.used) if (expiry < nowSeconds) this.used.delete(id);
    // A flood of distinct valid states is bounded too: the oldest go first.
    while (this.used.size > 100_000) this.used.delete(this.used.keys().next().value as string);
  }

  private clear(res: ServerResponse, name: string, path: string): void {
    if (res.headersSent) return;
    appendSetCookie(res, `${name}=; Path=${path}; Max-Age=0; HttpOnly; Secure; SameSite=None`);
  }

  private seal(name: string, binding: string, record: StateRecord): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${name}\n${binding}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  private open(name: string, binding: string, sealed: string): StateRecord | undefined {
    try {
      const raw = Buffer.from(sealed, 'base64url');
      if (raw.length < 12 + 16 + 2 || raw.length > 4096) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(`${name}\n${binding}`));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
      const record = JSON.parse(text) as StateRecord;
      return typeof record.e === 'number' && typeof record.p === 'string' ? record : undefined;
    } catch {
      return undefined;
    }
  }
}
