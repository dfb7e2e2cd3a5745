import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppleStateError, CookieStateStore } from '../lib/index.js';
import { parseCookies } from '../lib/state-store.js';

class FakeResponse {
  headers: Record<string, unknown> = {};
  headersSent = false;
  getHeader(name: string): unknown {
    return this.headers[name.toLowerCase()];
  }
  setHeader(name: string, value: unknown): void {
    this.headers[name.toLowerCase()] = value;
  }
}

function requestWith(cookie?: string, res = new FakeResponse()): IncomingMessage & { res: FakeResponse } {
  return { headers: cookie ? { cookie } : {}, url: '/auth/apple/callback', res } as unknown as IncomingMessage & { res: FakeResponse };
}

function store(s: CookieStateStore, appState?: unknown): Promise<{ state: string; cookie: string }> {
  const req = requestWith();
  return new Promise((resolve, reject) => {
    s.store(req, appState, { callbackURL: 'https://app.example.com/auth/apple/callback' }, (err, state) => {
      if (err) return reject(err);
      const cookie = (req.res.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]!).join('; ');
      resolve({ state: state!, cookie });
    });
  });
}

function verify(s: CookieStateStore, cookie: string | undefined, state: unknown): Promise<{ ok: boolean; info: unknown; res: FakeResponse }> {
  const req = requestWith(cookie);
  return new Promise((resolve) => s.verify(req, state, (_err, ok, info) => resolve({ ok, info, res: req.res })));
}

describe('CookieStateStore', () => {
  const secret = randomBytes(32);
  let clock = 1_700_000_000_000;
  const now = (): number => clock;

  it('round-trips application state, once', async () => {
    const s = new CookieStateStore({ secret, now });
    const { state, cookie } = await store(s, { returnTo: '/x' });
    const first = await verify(s, cookie, state);
    expect(first).to.deep.include({ ok: true, info: { returnTo: '/x' } });
    expect(first.res.headers['set-cookie']).to.deep.equal([`apple_state_${state}=; Path=/auth/apple/callback; Max-Age=0; HttpOnly; Secure; SameSite=None`]);
    const second = await verify(s, cookie, state);
    expect((second.info as AppleStateError).code).to.equal('ERR_STATE_REUSED');
  });

  it('seals the record to the browser: a record planted with another browser cookie does not open', async () => {
    const s = new CookieStateStore({ secret, now });
    const attacker = await store(s);
    const victim = await store(s);
    // The attacker tosses their own valid record into the victim's browser, which keeps its own __Host- cookie.
    const tossed = `${attacker.cookie.split('; ')[0]}; ${victim.cookie.split('; ')[1]}`;
    expect(((await verify(s, tossed, attacker.state)).info as AppleStateError).code).to.equal('ERR_STATE_INVALID');
    const withoutBinding = attacker.cookie.split('; ')[0];
    const out = await verify(s, withoutBinding, attacker.state);
    expect((out.info as AppleStateError).code).to.equal('ERR_STATE_MISSING');
    expect((out.info as AppleStateError).message).to.include('__Host-apple_state_browser');
  });

  it('reuses the browser cookie a request already carries, so tabs share it', async () => {
    const s = new CookieStateStore({ secret, now });
    const first = await store(s);
    const req = requestWith(first.cookie);
    await new Promise((r) => s.store(req, undefined, {}, r));
    const binding = first.cookie.split('; ')[1];
    expect((req.res.headers['set-cookie'] as string[])[1]).to.equal(`${binding}; Path=/; Max-Age=660; HttpOnly; Secure; SameSite=None`);
  });

  it('refuses a record older than its ttl as ERR_STATE_EXPIRED', async () => {
    const s = new CookieStateStore({ secret, now, ttl: 60 });
    const { state, cookie } = await store(s);
    clock += 61_000;
    const out = await verify(s, cookie, state);
    expect(out.ok).to.equal(false);
    expect((out.info as AppleStateError).code).to.equal('ERR_STATE_EXPIRED');
    expect((out.info as AppleStateError).message).to.equal('The sign-in took longer than 60 seconds: start it again.');
  });

  it('caps the ttl at 10 minutes', async () => {
    const s = new CookieStateStore({ secret, now, ttl: 3600 });
    const req = requestWith();
    await new Promise((r) => s.store(req, undefined, {}, r));
    expect((req.res.headers['set-cookie'] as string[])[0]).to.include('Max-Age=660');
  });

  it('refuses a record moved to another state name (the name is authenticated)', async () => {
    const s = new CookieStateStore({ secret, now });
    const a = await store(s);
    const b = await store(s);
    const sealedA = a.cookie.split('; ')[0]!.split('=')[1];
    const moved = `apple_state_${b.state}=${sealedA}; ${b.cookie.split('; ')[1]}`;
    expect(((await verify(s, moved, b.state)).info as AppleStateError).code).to.equal('ERR_STATE_INVALID');
  });

  it('tells a missing record from a mismatched one', async () => {
    const s = new CookieStateStore({ secret, now });
    const { cookie } = await store(s);
    expect(((await verify(s, undefined, 'x'.repeat(32))).info as AppleStateError).code).to.equal('ERR_STATE_MISSING');
    expect(((await verify(s, 'session=abc', 'x'.repeat(32))).info as AppleStateError).code).to.equal('ERR_STATE_MISSING');
    expect(((await verify(s, cookie, 'x'.repeat(32))).info as AppleStateError).code).to.equal('ERR_STATE_MISMATCH');
    expect(((await verify(s, cookie, '../../etc')).info as AppleStateError).code).to.equal('ERR_STATE_MISMATCH');
    expect(((await verify(s, cookie, ['a'])).info as AppleStateError).code).to.equal('ERR_STATE_PARAM_MISSING');
  });

  it('refuses application state too large for a cookie', async () => {
    const s = new CookieStateStore({ secret, now });
    try {
      await store(s, { blob: 'x'.repeat(2000) });
      throw new Error('stored');
    } catch (err) {
      expect((err as AppleStateError).code).to.equal('ERR_STATE_STORE');
    }
  });

  it('explains what to do when the framework gives no req.res', async () => {
    const s = new CookieStateStore({ secret, now });
    const err = await new Promise<Error | null>((resolve) => s.store({ headers: {} } as IncomingMessage, undefined, {}, (e) => resolve(e)));
    expect((err as AppleStateError).code).to.equal('ERR_STATE_STORE');
    expect(err!.message).to.include('pass a `store` option');
  });

  it('keeps other Set-Cookie headers', async () => {
    const s = new CookieStateStore({ secret, now });
    const res = new FakeResponse();
    res.setHeader('Set-Cookie', 'sid=1');
    await new Promise((r) => s.store(requestWith(undefined, res) as IncomingMessage, undefined, {}, r));
    expect((res.headers['set-cookie'] as string[])[0]).to.equal('sid=1');
    expect((res.headers['set-cookie'] as string[])).to.have.length(3);
  });

  it('needs a 32-byte secret', () => {
    expect(() => new CookieStateStore({ secret: Buffer.alloc(8) })).to.throw(TypeError, /at least 32 bytes/);
  });

  it('parses Cookie headers, keeping the first of duplicate names', () => {
    expect([...parseCookies('a=1; b=2; a=3; junk; =x')]).to.deep.equal([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('is unaffected by the response having been sent', async () => {
    const s = new CookieStateStore({ secret, now });
    const { state, cookie } = await store(s);
    const res = new FakeResponse();
    res.headersSent = true;
    const req = requestWith(cookie, res);
    const ok = await new Promise((resolve) => s.verify(req, state, (_e, okay) => resolve(okay)));
    expect(ok).to.equal(true);
    expect(res.headers['set-cookie']).to.equal(undefined);
  });
});
