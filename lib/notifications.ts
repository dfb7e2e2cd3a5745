import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { checkTimeout, optionalURL } from './apple-client.js';
import { asList, nonNegative } from './apple-config.js';
import type { FetchLike } from './apple-http.js';
import { AppleKeySet, APPLE_JWKS_URL } from './apple-keys.js';
import { AppleAuthError, AppleConfigError, AppleKeysError, AppleNotificationError } from './errors.js';
import { APPLE_ISSUERS, issuedTo, verifyAppleJwt, type AppleJwtPolicy } from './id-token.js';
import { appleBoolean } from './profile.js';
import { MemoryReplayStore, type ReplayStore } from './replay-store.js';
import { readBodyObject, RequestBodyError } from './request-body.js';

/** Apple's notification body is `{"payload": "<JWT>"}`, about 1 KB. */
export const MAX_NOTIFICATION_BODY_BYTES = 32 * 1024;

/** Default for `maxAge`: a notification is accepted up to one day after Apple issued it. */
export const DEFAULT_NOTIFICATION_MAX_AGE = 86_400;

/**
 * What happened, as this package reports it:
 *
 * - `email-disabled`: the user stopped forwarding from their Hide My Email relay address; stop mailing it.
 * - `email-enabled`: forwarding to the relay address is on again.
 * - `consent-revoked`: the user stopped using Sign in with Apple with your app; sign them out everywhere.
 * - `account-delete`: the user deleted their Apple Account; every token is void. Apple spells it
 *   `account-delete` or `account-deleted` depending on the document; both arrive as `account-delete`.
 */
export type AppleNotificationType = 'email-disabled' | 'email-enabled' | 'consent-revoked' | 'account-delete';

/** The verified claims of a notification JWT. Apple's carry no `sub` and usually no `exp`. */
export interface AppleNotificationClaims extends JWTPayload {
  iss: string;
  aud: string | string[];
  iat: number;
  jti: string;
  /** A JSON string on the wire (Apple's documentation prints an object; both are accepted). */
  events: string | Record<string, unknown>;
}

/** The `events` member, parsed. Field names are Apple's. */
export interface AppleNotificationEvent {
  /** Apple's spelling, e.g. `account-deleted`. */
  type: string;
  sub: string;
  event_time?: number | string;
  email?: string;
  is_private_email?: boolean | string;
  [extra: string]: unknown;
}

/**
 * A verified server-to-server notification.
 *
 * @example
 * ```ts
 * // { type: 'email-disabled', sub: '820417.faa3…0219', email: 'ep9ks2tnph@privaterelay.appleid.com',
 * //   isPrivateEmail: true, eventTime: 1508184845000, jti: 'abede67890', clientID: 'com.example.app', … }
 * if (n.type === 'email-disabled') await users.pauseMail(n.sub);
 * ```
 */
export interface AppleNotification {
  /** What happened; `account-deleted` is reported as `account-delete`. */
  type: AppleNotificationType;
  /** The Apple user ID (`sub`) the event is about: the key you store users by. */
  sub: string;
  /** The relay address concerned, on email events. */
  email?: string;
  /** Whether `email` is a private relay address, as a real boolean; absent when Apple did not say. */
  isPrivateEmail?: boolean;
  /**
   * When the event happened, in **milliseconds** since the epoch (`new Date(eventTime)`). Apple's
   * documented samples give `event_time` in seconds and deliveries seen in the wild give
   * milliseconds: values below 10^11 are taken as seconds and scaled. Without `event_time`, the
   * JWT's `iat` is used. The value as Apple sent it stays in `event.event_time`.
   */
  eventTime: number;
  /** The JWT's unique ID, used to refuse replays. */
  jti: string;
  /** The client the notification is for (its `aud`), one of your configured IDs. */
  clientID: string;
  /** The parsed `events` member, as Apple sent it. */
  event: AppleNotificationEvent;
  /** The verified JWT claims. */
  claims: AppleNotificationClaims;
}

/**
 * Options of {@link verifyNotification} and {@link appleNotifications}.
 *
 * @example
 * ```ts
 * const options: VerifyNotificationOptions = {
 *   clientIDs: ['com.example.app'],     // the App ID whose configuration names your endpoint
 *   replayStore: redisReplayStore,      // shared by every process receiving notifications
 * };
 * ```
 */
export interface VerifyNotificationOptions {
  /** Accepted audiences: the App ID(s) whose Sign in with Apple configuration names your endpoint. */
  clientIDs: string | string[];
  /** Apple's key set URL by default. */
  jwksURL?: string;
  /** Accepted issuers (default `https://appleid.apple.com` and `https://account.apple.com`). */
  issuer?: string | string[];
  /** A key set to share, e.g. the strategy's `keySet` (default: one per middleware, or per `jwksURL` and `fetch`). */
  keySet?: AppleKeySet;
  /** fetch used to get Apple's keys (default: global fetch). */
  fetch?: FetchLike;
  /** Milliseconds to wait for Apple's key endpoint (default 10000). */
  timeout?: number;
  /** Seconds of clock skew tolerated on `iat` and `exp` (default 60). */
  clockTolerance?: number;
  /**
   * Seconds after its `iat` a notification is still accepted (default one day). Apple's
   * notifications usually have no `exp`, so this bounds how long a captured one could be replayed
   * and how long its `jti` must be remembered.
   */
  maxAge?: number;
  /**
   * Where seen `jti`s are kept. Default: a bounded in-memory store, one per middleware, and one
   * shared by all {@link verifyNotification} calls of the process. Use a shared store (Redis, a
   * database) when several processes receive notifications.
   */
  replayStore?: ReplayStore;
  /** Clock, for tests: milliseconds since the epoch. */
  now?: () => number;
}

/** Options of {@link appleNotifications}. */
export interface AppleNotificationsOptions extends VerifyNotificationOptions {
  /**
   * Called with every error the middleware answers for (a refused notification, a failed handler),
   * for logging: the response itself never carries details.
   */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/** Your code for one verified notification. It may return a promise; Apple gets 200 once it settles successfully. */
export type AppleNotificationHandler = (notification: AppleNotification, req: IncomingMessage) => unknown;

/** An Express/Connect middleware: `(req, res, next)`. */
export type AppleNotificationsMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

interface NotificationContext {
  policy: AppleJwtPolicy;
  maxAge: number;
  clockTolerance: number;
  replayStore: ReplayStore;
  now: () => number;
}

const TYPES: Record<string, AppleNotificationType> = {
  'email-disabled': 'email-disabled',
  'email-enabled': 'email-enabled',
  'consent-revoked': 'consent-revoked',
  'account-delete': 'account-delete',
  'account-deleted': 'account-delete',
};

let processReplayStore: MemoryReplayStore | undefined;
const sharedKeySets = new Map<string, AppleKeySet>();
const sharedKeySetsByFetch = new WeakMap<FetchLike, Map<string, AppleKeySet>>();

function configError(message: string): AppleConfigError {
  return new AppleConfigError('ERR_CONFIG_INVALID', message);
}

/** One key set per (jwksURL, fetch, timeout), so calling verifyNotification per request does not refetch Apple's keys. */
function sharedKeySet(url: string, fetchImpl: FetchLike | undefined, timeout: number): AppleKeySet {
  let byUrl = sharedKeySets;
  if (fetchImpl) {
    byUrl = sharedKeySetsByFetch.get(fetchImpl) ?? new Map();
    sharedKeySetsByFetch.set(fetchImpl, byUrl);
  }
  const cacheKey = `${timeout} ${url}`;
  let keySet = byUrl.get(cacheKey);
  if (!keySet) {
    keySet = new AppleKeySet(url, { fetch: fetchImpl, timeout });
    byUrl.set(cacheKey, keySet);
  }
  return keySet;
}

/** `perMiddleware`: a key set and default replay store of its own, rather than the process-wide ones. */
function resolveContext(options: VerifyNotificationOptions, perMiddleware: boolean): NotificationContext {
  if (!options || typeof options !== 'object') throw configError('Notifications need options: { clientIDs: [\'com.example.app\'] }.');
  const audiences = asList(options.clientIDs, 'clientIDs');
  if (!audiences) throw configError('clientIDs is required: the App ID(s) whose Sign in with Apple configuration names this endpoint.');
  const issuers = asList(options.issuer, 'issuer') ?? [...APPLE_ISSUERS];
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw configError('fetch must be a function (a WHATWG fetch such as node-fetch).');
  const timeout = checkTimeout(options.timeout);
  const clockTolerance = nonNegative(options.clockTolerance, 'clockTolerance', 60);
  const maxAge = nonNegative(options.maxAge, 'maxAge', DEFAULT_NOTIFICATION_MAX_AGE);
  if (maxAge === 0) throw configError('maxAge must be a positive number of seconds.');
  const replayStore = options.replayStore ?? (perMiddleware ? new MemoryReplayStore() : (processReplayStore ??= new MemoryReplayStore()));
  if (typeof replayStore.seen !== 'function') throw configError('replayStore must have a seen(jti, expiresAt) method.');
  let keySet = options.keySet;
  if (!keySet) {
    const url = optionalURL(options.jwksURL, 'jwksURL', APPLE_JWKS_URL);
    keySet = perMiddleware ? new AppleKeySet(url, { fetch: options.fetch, timeout }) : sharedKeySet(url, options.fetch, timeout);
  }
  const now = options.now ?? Date.now;
  return {
    policy: { keys: keySet, issuers, audiences, clockTolerance, maxAge, requireExp: false, requireSub: false, label: 'notification', now },
    maxAge,
    clockTolerance,
    replayStore,
    now,
  };
}

function invalid(message: string, cause?: unknown): AppleNotificationError {
  return new AppleNotificationError('ERR_NOTIFICATION_INVALID', message, { cause });
}

/** The JWT out of Apple's `{"payload": "<JWT>"}`, given as an object, a JSON string or a Buffer. */
function payloadOf(body: unknown): string {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    if (Buffer.byteLength(value) > MAX_NOTIFICATION_BODY_BYTES) throw invalid(`The notification body is larger than ${MAX_NOTIFICATION_BODY_BYTES} bytes; Apple's are about 1 KB.`);
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw invalid('The notification body is not JSON: Apple posts {"payload": "<JWT>"} as application/json.', cause);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('The notification body is not an object: Apple posts {"payload": "<JWT>"}.');
  }
  const payload = (value as Record<string, unknown>).payload;
  if (typeof payload !== 'string' || payload.length === 0) {
    throw invalid('The notification body has no "payload" string: Apple posts {"payload": "<JWT>"}.');
  }
  return payload;
}

function parseEvents(events: unknown): Record<string, unknown> {
  let value = events;
  // Apple's documentation prints an object; what Apple sends is that object as a JSON string.
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw invalid('The notification\'s "events" claim is a string but not JSON.', cause);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('The notification has no "events" object.');
  return value as Record<string, unknown>;
}

function eventTimeOf(raw: unknown, iat: number): number {
  const value = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return iat * 1000;
  // 10^11 seconds is the year 5138; 10^11 milliseconds is 1973. Apple sends one or the other.
  return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
}

/** Checks everything but replay: signature and claims through verifyAppleJwt, then the event. */
async function verifyWithoutReplay(body: unknown, context: NotificationContext): Promise<AppleNotification> {
  const token = payloadOf(body);
  const claims = await verifyAppleJwt(token, context.policy);
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 255) {
    throw invalid('The notification has no usable "jti": without it a replay cannot be told from a new notification.');
  }
  const event = parseEvents((claims as JWTPayload).events);
  const rawType = event.type;
  if (typeof rawType !== 'string' || rawType.length === 0) throw invalid('The notification\'s event has no "type".');
  const type = Object.hasOwn(TYPES, rawType) ? TYPES[rawType] : undefined;
  if (!type) {
    throw new AppleNotificationError(
      'ERR_NOTIFICATION_EVENT_UNKNOWN',
      `The notification's event type "${rawType.slice(0, 64)}" is not one this package knows (email-disabled, email-enabled, consent-revoked, account-delete).`,
    );
  }
  const sub = event.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw invalid('The notification\'s event has no usable "sub" (the Apple user ID).');
  if (claims.sub !== undefined && claims.sub !== sub) throw invalid('The notification\'s "sub" claim and its event\'s "sub" differ.');
  const clientID = issuedTo(claims);
  const notification: AppleNotification = {
    type,
    sub,
    eventTime: eventTimeOf(event.event_time, claims.iat),
    jti,
    clientID,
    event: event as AppleNotificationEvent,
    claims: claims as unknown as AppleNotificationClaims,
  };
  if (typeof event.email === 'string' && event.email.length > 0) notification.email = event.email;
  const isPrivateEmail = appleBoolean(event.is_private_email);
  if (isPrivateEmail !== undefined) notification.isPrivateEmail = isPrivateEmail;
  return notification;
}

/** Until when a notification's `jti` must be remembered: as long as it would be accepted. */
function expiryOf(notification: AppleNotification, context: NotificationContext): number {
  const { iat, exp } = notification.claims;
  const byAge = iat + context.maxAge;
  // Verification compares whole seconds and still accepts at exactly the limit, so the entry must
  // outlive the whole last second.
  return Math.floor((typeof exp === 'number' ? Math.min(exp, byAge) : byAge) + context.clockTolerance) + 1;
}

async function claimJti(notification: AppleNotification, context: NotificationContext): Promise<void> {
  if (await context.replayStore.seen(notification.jti, expiryOf(notification, context))) {
    throw new AppleNotificationError(
      'ERR_NOTIFICATION_REPLAYED',
      `The notification ${notification.jti.slice(0, 64)} was already received: a duplicate delivery or a replay.`,
    );
  }
}

/**
 * Verifies one of Apple's server-to-server notifications and says what happened.
 *
 * The JWT in `payload` goes through the same checks as every Apple token (RS256 signature by one
 * of Apple's keys, issuer, `aud` among `clientIDs`, `iat` not in the future nor older than
 * `maxAge`; `exp` only when present, since Apple's notifications lack it). Then its `jti` is
 * recorded in the replay store: a second call with the same notification is refused. Record
 * comes last, so a refused notification is never recorded; if *your* processing of an accepted
 * one fails and Apple should be able to retry it, call `replayStore.forget(jti)`, or use
 * {@link appleNotifications}, which does so.
 *
 * Without `keySet`, key sets are shared per `jwksURL`, `fetch` and `timeout`, and without
 * `replayStore` one in-memory store is shared by the process, so calling this per request is fine.
 *
 * Rejects with {@link AppleNotificationError} (`ERR_NOTIFICATION_INVALID`,
 * `ERR_NOTIFICATION_EVENT_UNKNOWN`, `ERR_NOTIFICATION_REPLAYED`), `AppleIdTokenError` (the JWT
 * failed a check), `AppleKeysError` (Apple's keys could not be had: an outage, retry later) or
 * `AppleConfigError`.
 *
 * @param body Apple's request body: `{ payload }`, or the JSON text of it as a string or Buffer.
 * @example
 * ```ts
 * app.post('/apple/notifications', express.json(), async (req, res) => {
 *   const n = await verifyNotification(req.body, { clientIDs: ['com.example.app'] });
 *   if (n.type === 'account-delete' || n.type === 'consent-revoked') await users.signOutEverywhere(n.sub);
 *   res.sendStatus(200);
 * });
 * ```
 */
export async function verifyNotification(body: unknown, options: VerifyNotificationOptions): Promise<AppleNotification> {
  const context = resolveContext(options, false);
  const notification = await verifyWithoutReplay(body, context);
  await claimJti(notification, context);
  return notification;
}

function reply(res: ServerResponse, status: number, body?: Record<string, string>, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = status;
  res.setHeader('cache-control', 'no-store');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * An Express/Connect middleware receiving Apple's server-to-server notifications.
 *
 * It reads Apple's `{"payload": "<JWT>"}` body itself when no body parser ran (JSON, at most
 * 32 KB, with a deadline), or takes a parsed `req.body` (express.json) or a Buffer/string body
 * (express.raw, express.text). It verifies the notification as {@link verifyNotification} does,
 * then calls `handler` and answers:
 *
 * - **200** once the handler (which may be async) succeeded;
 * - **400** `{"error": "<code>"}` for a notification refused: malformed, failing a check, of an
 *   unknown type, or already received (`ERR_NOTIFICATION_REPLAYED`);
 * - **500** `{"error": "ERR_NOTIFICATION_HANDLER_FAILED"}` when the handler threw, so Apple retries;
 * - **503** `{"error": "ERR_JWKS_UNAVAILABLE"}` when Apple's keys cannot be fetched, so Apple retries;
 * - **500** `{"error": "ERR_INTERNAL"}` when something else failed (the replay store threw);
 * - **405** for anything but POST.
 *
 * No response carries a message or stack; pass `onError` to log them.
 *
 * Ordering: the `jti` is recorded (atomically, in the replay store) *before* the handler runs, so
 * two concurrent deliveries of one notification cannot both be processed; if the handler fails,
 * the `jti` is forgotten again (`replayStore.forget`) before the 500 goes out, so Apple's retry
 * is processed rather than refused as a replay. A custom store without `forget` keeps such a
 * notification refused until it expires.
 *
 * The key set and default replay store are created once, with the middleware.
 *
 * @example
 * ```ts
 * app.post('/apple/notifications', appleNotifications({ clientIDs: ['com.example.app'] }, async (n) => {
 *   switch (n.type) {
 *     case 'email-disabled': await users.pauseMail(n.sub); break;
 *     case 'email-enabled': await users.resumeMail(n.sub); break;
 *     case 'consent-revoked':
 *     case 'account-delete': await users.signOutEverywhere(n.sub); break;
 *   }
 * }));
 * ```
 */
export function appleNotifications(options: AppleNotificationsOptions, handler: AppleNotificationHandler): AppleNotificationsMiddleware {
  if (typeof handler !== 'function') throw configError('appleNotifications needs a handler function as its second argument.');
  const context = resolveContext(options, true);
  const replayStore = context.replayStore;
  const onError = options.onError;
  const report = (err: unknown, req: IncomingMessage): void => {
    try {
      onError?.(err, req);
    } catch {
      // A failing logger must not change what Apple is told.
    }
  };

  // Notifications whose handler is running in this process: Apple's retry of one must be told to
  // come back (503), not that it was a replay (400), or it is lost if the running handler fails.
  const inFlight = new Set<string>();

  return (req, res) => {
    void (async (): Promise<void> => {
      if (req.method !== 'POST') {
        reply(res, 405, undefined, { allow: 'POST' });
        return;
      }
      let notification: AppleNotification;
      try {
        const body = await readBodyObject(req, { limit: MAX_NOTIFICATION_BODY_BYTES, allowForm: false });
        notification = await verifyWithoutReplay(body, context);
        if (inFlight.has(notification.jti)) {
          reply(res, 503, { error: 'ERR_NOTIFICATION_IN_PROGRESS' }, { 'retry-after': '30' });
          return;
        }
        // Marked before the (asynchronous) claim, so a concurrent delivery sees it.
        inFlight.add(notification.jti);
        try {
          await claimJti(notification, context);
        } catch (err) {
          inFlight.delete(notification.jti);
          throw err;
        }
      } catch (err) {
        report(err, req);
        if (err instanceof RequestBodyError) reply(res, err.status, { error: 'ERR_NOTIFICATION_INVALID' });
        else if (err instanceof AppleKeysError) reply(res, 503, { error: err.code }, { 'retry-after': '60' });
        else if (err instanceof AppleAuthError) reply(res, 400, { error: err.code });
        else reply(res, 500, { error: 'ERR_INTERNAL' });
        return;
      }
      try {
        await handler(notification, req);
      } catch (err) {
        report(err, req);
        try {
          await replayStore.forget?.(notification.jti);
        } catch (forgetErr) {
          report(forgetErr, req);
        }
        reply(res, 500, { error: 'ERR_NOTIFICATION_HANDLER_FAILED' });
        return;
      } finally {
        inFlight.delete(notification.jti);
      }
      reply(res, 200);
    })();
  };
}
