import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import express from 'express';
import nock from 'nock';
import request from 'supertest';
import { AppleKeySet } from '../lib/apple-keys.js';
import { AppleConfigError, AppleIdTokenError, AppleKeysError, AppleNotificationError } from '../lib/errors.js';
import { appleNotifications, verifyNotification, type AppleNotification, type VerifyNotificationOptions } from '../lib/notifications.js';
import { MemoryReplayStore, type ReplayStore } from '../lib/replay-store.js';
import { appleSigningKey, jwksOf, nowSeconds, signIdToken, type AppleSigningKey } from './support/apple.js';

const APPLE = 'https://appleid.apple.com';
const APP_ID = 'com.example.app';
const USER = '820417.faa325acbc78e1be1668ba852d492d8a.0219';
const RELAY = 'ep9ks2tnph@privaterelay.appleid.com';

/** A JWKS endpoint that serves any number of fetches, counted. */
function serveKeys(key: AppleSigningKey): nock.Scope {
  return nock(APPLE).get('/auth/keys').times(20).reply(200, jwksOf(key));
}

describe('server-to-server notifications', () => {
  let apple: AppleSigningKey;

  before(async () => {
    apple = await appleSigningKey('apple-key-1');
  });

  /**
   * A notification JWT as Apple sends one: iss, aud, iat, jti, `events` as a JSON string, no `exp`
   * and no top-level `sub`.
   */
  // A claim passed in `claims` is kept, even `sub` (a top-level sub must then match the event's).
  function notificationJwt(event: Record<string, unknown>, claims: Record<string, unknown> = {}, eventsAsObject = false): Promise<string> {
    const events = { sub: USER, event_time: 1_508_184_845, ...event };
    return signIdToken(apple, { aud: APP_ID, jti: randomUUID(), events: eventsAsObject ? events : JSON.stringify(events), ...claims }, {
      omit: [...('sub' in claims ? [] : ['sub']), 'exp', 'email', 'email_verified', 'is_private_email', 'auth_time', 'nonce_supported'],
    });
  }

  function options(extra: Partial<VerifyNotificationOptions> = {}): VerifyNotificationOptions {
    return { clientIDs: [APP_ID], keySet: new AppleKeySet(`${APPLE}/auth/keys`), replayStore: new MemoryReplayStore(), ...extra };
  }

  describe('verifyNotification', () => {
    beforeEach(() => {
      serveKeys(apple);
    });

    it('parses email-disabled from a string "events", with isPrivateEmail a real boolean', async () => {
      const payload = await notificationJwt({ type: 'email-disabled', email: RELAY, is_private_email: 'true' });
      const n = await verifyNotification({ payload }, options());
      expect(n).to.include({ type: 'email-disabled', sub: USER, email: RELAY, isPrivateEmail: true, clientID: APP_ID, eventTime: 1_508_184_845_000 });
      expect(n.jti).to.be.a('string').and.equal(n.claims.jti);
      expect(n.event).to.deep.equal({ type: 'email-disabled', sub: USER, event_time: 1_508_184_845, email: RELAY, is_private_email: 'true' });
      expect(n.claims.events).to.be.a('string');
    });

    it('parses email-enabled, with is_private_email "false" as false', async () => {
      const payload = await notificationJwt({ type: 'email-enabled', email: 'maria@example.com', is_private_email: 'false' });
      const n = await verifyNotification({ payload }, options());
      expect(n).to.include({ type: 'email-enabled', email: 'maria@example.com', isPrivateEmail: false });
    });

    it('parses consent-revoked, without email fields', async () => {
      const n = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }) }, options());
      expect(n.type).to.equal('consent-revoked');
      expect(n.sub).to.equal(USER);
      expect(n).not.to.have.property('email');
      expect(n).not.to.have.property('isPrivateEmail');
    });

    it('parses account-delete', async () => {
      const n = await verifyNotification({ payload: await notificationJwt({ type: 'account-delete' }) }, options());
      expect(n.type).to.equal('account-delete');
    });

    it('reports account-deleted (Apple\'s other spelling) as account-delete, keeping the original in event.type', async () => {
      const n = await verifyNotification({ payload: await notificationJwt({ type: 'account-deleted' }) }, options());
      expect(n.type).to.equal('account-delete');
      expect(n.event.type).to.equal('account-deleted');
    });

    it('accepts "events" as an object, and the body as a JSON string or Buffer', async () => {
      const a = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }, {}, true) }, options());
      expect(a.type).to.equal('consent-revoked');
      const text = JSON.stringify({ payload: await notificationJwt({ type: 'consent-revoked' }) });
      expect((await verifyNotification(text, options())).type).to.equal('consent-revoked');
      expect((await verifyNotification(Buffer.from(JSON.stringify({ payload: await notificationJwt({ type: 'consent-revoked' }) })), options())).type).to.equal('consent-revoked');
    });

    it('reports eventTime in milliseconds whether Apple sent seconds or milliseconds', async () => {
      const ms = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked', event_time: 1_670_016_125_295 }) }, options());
      expect(ms.eventTime).to.equal(1_670_016_125_295);
      const iat = nowSeconds();
      const missing = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked', event_time: undefined }, { iat }) }, options());
      expect(missing.eventTime).to.equal(iat * 1000);
    });

    it('refuses a replayed notification (same jti) with ERR_NOTIFICATION_REPLAYED', async () => {
      const payload = await notificationJwt({ type: 'account-delete' });
      const opts = options();
      await verifyNotification({ payload }, opts);
      const err = await verifyNotification({ payload }, opts).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleNotificationError).with.property('code', 'ERR_NOTIFICATION_REPLAYED');
    });

    it('records the jti until the notification would expire by age', async () => {
      const iat = nowSeconds();
      const recorded: Array<[string, number]> = [];
      const store: ReplayStore = { seen: (jti, expiresAt) => (recorded.push([jti, expiresAt]), false) };
      const n = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }, { iat }) }, options({ replayStore: store, maxAge: 3600 }));
      // Verification accepts through the whole last second, so the entry outlives it.
      expect(recorded).to.deep.equal([[n.jti, iat + 3600 + 60 + 1]]);
    });

    it('refuses a replay in the last accepted second, and the notification after it as too old', async () => {
      const iat = 1_800_000_000;
      let clock = (iat + 3600 + 60) * 1000;
      const opts = options({ maxAge: 3600, now: () => clock, replayStore: new MemoryReplayStore({ now: () => clock }) });
      const payload = await notificationJwt({ type: 'email-enabled' }, { iat });
      await verifyNotification({ payload }, opts);
      clock += 999;
      const replay = await verifyNotification({ payload }, opts).catch((e: unknown) => e);
      expect(replay).to.have.property('code', 'ERR_NOTIFICATION_REPLAYED');
      clock += 1;
      const late = await verifyNotification({ payload }, opts).catch((e: unknown) => e);
      expect(late).to.have.property('code', 'ERR_ID_TOKEN_TOO_OLD');
    });

    it('refuses event types named after Object.prototype members', async () => {
      for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        const err = await verifyNotification({ payload: await notificationJwt({ type }) }, options()).catch((e: unknown) => e);
        expect(err, type).to.have.property('code', 'ERR_NOTIFICATION_EVENT_UNKNOWN');
      }
    });

    it('does not record a notification it refuses', async () => {
      const recorded: string[] = [];
      const store: ReplayStore = { seen: (jti) => (recorded.push(jti), false) };
      const err = await verifyNotification({ payload: await notificationJwt({ type: 'password-changed' }) }, options({ replayStore: store })).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleNotificationError).with.property('code', 'ERR_NOTIFICATION_EVENT_UNKNOWN');
      expect(recorded).to.deep.equal([]);
    });

    it('refuses a notification for another app', async () => {
      const err = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }, { aud: 'com.other.app' }) }, options()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleIdTokenError).with.property('code', 'ERR_ID_TOKEN_AUDIENCE');
    });

    it('refuses a notification older than maxAge (default one day)', async () => {
      const iat = nowSeconds() - 86_400 - 120;
      const err = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }, { iat }) }, options()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleIdTokenError).with.property('code', 'ERR_ID_TOKEN_TOO_OLD');
    });

    it('refuses one signed by another key', async () => {
      const forger = await appleSigningKey('apple-key-1');
      const token = await signIdToken(forger, { aud: APP_ID, jti: 'x', events: JSON.stringify({ type: 'account-delete', sub: USER }) }, { omit: ['sub'] });
      const err = await verifyNotification({ payload: token }, options()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleIdTokenError).with.property('code', 'ERR_ID_TOKEN_SIGNATURE');
    });

    it('refuses malformed bodies and events with ERR_NOTIFICATION_INVALID', async () => {
      const bodies: unknown[] = [
        undefined,
        'not json',
        '[1]',
        { payload: 42 },
        {},
        { payload: await notificationJwt({ type: 'consent-revoked', sub: undefined }) },
        { payload: await notificationJwt({ type: 'consent-revoked' }, { jti: undefined }) },
        { payload: await notificationJwt({ type: 'consent-revoked' }, { events: '{not json' }) },
        { payload: await notificationJwt({ type: 'consent-revoked' }, { sub: 'someone.else' }) },
      ];
      for (const body of bodies) {
        const err = await verifyNotification(body, options()).catch((e: unknown) => e);
        expect(err, JSON.stringify(body)).to.be.instanceOf(AppleNotificationError).with.property('code', 'ERR_NOTIFICATION_INVALID');
      }
    });

    it('reports unavailable keys as AppleKeysError', async () => {
      nock.cleanAll();
      nock(APPLE).get('/auth/keys').reply(503, 'down');
      const err = await verifyNotification({ payload: await notificationJwt({ type: 'consent-revoked' }) }, options()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleKeysError).with.property('code', 'ERR_JWKS_UNAVAILABLE');
    });

    it('refuses options without clientIDs', async () => {
      const err = await verifyNotification({}, { clientIDs: [] }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AppleConfigError).with.property('code', 'ERR_CONFIG_INVALID');
    });
  });

  describe('MemoryReplayStore', () => {
    it('answers true for a jti seen before it expires, false after', () => {
      let now = 1_000_000_000_000;
      const store = new MemoryReplayStore({ now: () => now });
      expect(store.seen('a', now / 1000 + 10)).to.equal(false);
      expect(store.seen('a', now / 1000 + 10)).to.equal(true);
      now += 11_000;
      expect(store.seen('a', now / 1000 + 10)).to.equal(false);
    });

    it('stays within maxEntries, dropping the oldest', () => {
      const store = new MemoryReplayStore({ maxEntries: 3 });
      const later = Date.now() / 1000 + 3600;
      for (const jti of ['a', 'b', 'c', 'd']) store.seen(jti, later);
      expect(store.size).to.equal(3);
      expect(store.seen('d', later)).to.equal(true);
      expect(store.seen('a', later)).to.equal(false);
    });

    it('forgets a jti on request', () => {
      const store = new MemoryReplayStore();
      store.seen('a', Date.now() / 1000 + 60);
      store.forget('a');
      expect(store.seen('a', Date.now() / 1000 + 60)).to.equal(false);
    });
  });

  describe('appleNotifications middleware', () => {
    function app(handler: (n: AppleNotification) => unknown, extra: Partial<VerifyNotificationOptions> & { json?: boolean; errors?: unknown[] } = {}): express.Express {
      const a = express();
      if (extra.json) a.use(express.json());
      const errors = extra.errors;
      a.post('/apple/notifications', appleNotifications({ clientIDs: [APP_ID], onError: errors ? (err) => errors.push(err) : undefined, ...extra }, handler));
      return a;
    }

    it('answers 200 after an async handler succeeded, reading the body itself', async () => {
      serveKeys(apple);
      const seen: AppleNotification[] = [];
      const payload = await notificationJwt({ type: 'email-disabled', email: RELAY, is_private_email: true });
      await request(app(async (n) => {
        await new Promise((r) => setTimeout(r, 20));
        seen.push(n);
      }))
        .post('/apple/notifications')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ payload }))
        .expect(200);
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ type: 'email-disabled', sub: USER, isPrivateEmail: true });
    });

    it('takes a body parsed by express.json', async () => {
      serveKeys(apple);
      const seen: string[] = [];
      await request(app((n) => seen.push(n.type), { json: true }))
        .post('/apple/notifications')
        .send({ payload: await notificationJwt({ type: 'account-deleted' }) })
        .expect(200);
      expect(seen).to.deep.equal(['account-delete']);
    });

    it('answers 400 {"error": code} for a bad payload, without calling the handler', async () => {
      serveKeys(apple);
      let called = false;
      const handler = (): void => {
        called = true;
      };
      const a = app(handler);
      const malformed = await request(a).post('/apple/notifications').set('content-type', 'application/json').send('{"payload":').expect(400);
      expect(malformed.body).to.deep.equal({ error: 'ERR_NOTIFICATION_INVALID' });
      const foreign = await request(a).post('/apple/notifications').send({ payload: await notificationJwt({ type: 'account-delete' }, { aud: 'com.other.app' }) }).expect(400);
      expect(foreign.body).to.deep.equal({ error: 'ERR_ID_TOKEN_AUDIENCE' });
      const unknown = await request(a).post('/apple/notifications').send({ payload: await notificationJwt({ type: 'new-kind' }) }).expect(400);
      expect(unknown.body).to.deep.equal({ error: 'ERR_NOTIFICATION_EVENT_UNKNOWN' });
      expect(called).to.equal(false);
    });

    it('answers 400 ERR_NOTIFICATION_REPLAYED to a second delivery of a processed notification', async () => {
      serveKeys(apple);
      let calls = 0;
      const a = app(() => {
        calls += 1;
      });
      const payload = await notificationJwt({ type: 'email-enabled', email: RELAY });
      await request(a).post('/apple/notifications').send({ payload }).expect(200);
      const again = await request(a).post('/apple/notifications').send({ payload }).expect(400);
      expect(again.body).to.deep.equal({ error: 'ERR_NOTIFICATION_REPLAYED' });
      expect(calls).to.equal(1);
    });

    it('answers 500 without details when the handler throws, and processes Apple\'s retry', async () => {
      serveKeys(apple);
      const errors: unknown[] = [];
      let attempts = 0;
      const a = app(
        async () => {
          attempts += 1;
          if (attempts === 1) throw new Error('database unavailable at db.internal:5432');
        },
        { errors },
      );
      const payload = await notificationJwt({ type: 'consent-revoked' });
      const failed = await request(a).post('/apple/notifications').send({ payload }).expect(500);
      expect(failed.body).to.deep.equal({ error: 'ERR_NOTIFICATION_HANDLER_FAILED' });
      expect(failed.text).not.to.include('database').and.not.to.include('at ');
      expect(errors).to.have.length(1);
      expect((errors[0] as Error).message).to.include('database unavailable');
      await request(a).post('/apple/notifications').send({ payload }).expect(200);
      expect(attempts).to.equal(2);
    });

    it('answers a retry that arrives while the handler still runs with 503, and processes it after a failure', async () => {
      serveKeys(apple);
      let attempts = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const a = app(async () => {
        attempts += 1;
        if (attempts === 1) {
          await gate;
          throw new Error('timed out talking to the database');
        }
      });
      const payload = await notificationJwt({ type: 'account-delete' });
      const first = request(a).post('/apple/notifications').send({ payload }).then((r) => r);
      await new Promise((r) => setTimeout(r, 100));
      const retry = await request(a).post('/apple/notifications').send({ payload });
      expect(retry.status).to.equal(503);
      expect(retry.headers['retry-after']).to.equal('30');
      expect(retry.body).to.deep.equal({ error: 'ERR_NOTIFICATION_IN_PROGRESS' });
      release();
      expect((await first).status).to.equal(500);
      await request(a).post('/apple/notifications').send({ payload }).expect(200);
      expect(attempts).to.equal(2);
    });

    it('answers 503 when Apple\'s keys cannot be fetched, so Apple retries', async () => {
      nock(APPLE).get('/auth/keys').reply(500, 'down');
      const res = await request(app(() => undefined)).post('/apple/notifications').send({ payload: await notificationJwt({ type: 'consent-revoked' }) }).expect(503);
      expect(res.body).to.deep.equal({ error: 'ERR_JWKS_UNAVAILABLE' });
    });

    it('answers 413 to an oversized body and 405 to a GET', async () => {
      const a = express();
      a.use('/apple/notifications', appleNotifications({ clientIDs: [APP_ID] }, () => undefined));
      await request(a).post('/apple/notifications').set('content-type', 'application/json').send(JSON.stringify({ payload: 'x'.repeat(40_000) })).expect(413);
      const get = await request(a).get('/apple/notifications').expect(405);
      expect(get.headers.allow).to.equal('POST');
    });

    it('fetches Apple\'s keys once for many notifications', async () => {
      const keys = nock(APPLE).get('/auth/keys').once().reply(200, jwksOf(apple));
      const a = app(() => undefined);
      for (let i = 0; i < 3; i += 1) {
        await request(a).post('/apple/notifications').send({ payload: await notificationJwt({ type: 'consent-revoked' }) }).expect(200);
      }
      expect(keys.isDone()).to.equal(true);
    });

    it('refuses to be built without a handler', () => {
      expect(() => appleNotifications({ clientIDs: [APP_ID] }, undefined as never)).to.throw(AppleConfigError, /handler/);
    });
  });
});
