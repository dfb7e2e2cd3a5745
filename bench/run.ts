// Benchmarks of the hot paths of a sign-in: signing a client secret, verifying an id_token with a
// warm key cache, the state cookie round trip, and a whole callback through Express with Apple
// answered in-process. Prints operations per second, per-op latency and heap growth.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { Passport } from 'passport';
import { AppleKeySet, AppleStrategy, CookieStateStore, signClientSecret, verifyAppleJwt } from '../lib/index.js';
import { APPLE_ISSUERS } from '../lib/id-token.js';
import { CLIENT_ID, KEY_ID, TEAM_ID, appleSigningKey, clientKeyPair, jwksOf, signIdToken } from '../test/support/apple.js';

interface Result {
  name: string;
  ops: number;
  perOpMicros: number;
  heapDeltaKB: number;
}

async function measure(name: string, iterations: number, fn: () => unknown): Promise<Result> {
  for (let i = 0; i < Math.min(50, iterations); i++) await fn();
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  const elapsed = performance.now() - start;
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  return { name, ops: Math.round((iterations / elapsed) * 1000), perOpMicros: Math.round((elapsed / iterations) * 1000), heapDeltaKB: Math.round((heapAfter - heapBefore) / 1024) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const client = clientKeyPair();
  const appleKey = await appleSigningKey();

  results.push(await measure('client secret (ES256 sign)', 5000, () => signClientSecret(client.privateKey, { teamID: TEAM_ID, keyID: KEY_ID, clientID: CLIENT_ID })));

  // A fake Apple on loopback: JWKS and token endpoint.
  let nonce = '';
  const apple = createServer(async (req, res) => {
    if (req.url === '/auth/keys') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwksOf(appleKey)));
      return;
    }
    req.resume();
    const idToken = await signIdToken(appleKey, { nonce });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ access_token: 'a', token_type: 'Bearer', expires_in: 3600, refresh_token: 'r', id_token: idToken }));
  });
  const applePort = await listen(apple);
  const origin = `http://127.0.0.1:${applePort}`;

  const keys = new AppleKeySet(`${origin}/auth/keys`);
  const token = await signIdToken(appleKey, { nonce: 'n' });
  const policy = { keys, issuers: APPLE_ISSUERS, audiences: [CLIENT_ID], nonce: { values: ['n'] } };
  results.push(await measure('id_token verify (warm key cache)', 3000, () => verifyAppleJwt(token, policy)));

  const store = new CookieStateStore({ secret: randomBytes(32) });
  const fakeRes = { headers: {} as Record<string, unknown>, getHeader(n: string) { return this.headers[n]; }, setHeader(n: string, v: unknown) { this.headers[n] = v; }, headersSent: false };
  results.push(
    await measure('state cookie store + verify', 5000, async () => {
      fakeRes.headers = {};
      const req = { headers: {} as Record<string, string>, res: fakeRes, url: '/cb' };
      const state = await new Promise<string>((resolve) => store.store(req as never, undefined, { callbackURL: 'https://a/cb' }, (_e, s) => resolve(s!)));
      req.headers.cookie = (fakeRes.headers['Set-Cookie'] as string[]).map((c) => c.split(';')[0]!).join('; ');
      const ok = await new Promise((resolve) => store.verify(req as never, state, (_e, okay) => resolve(okay)));
      if (ok !== true) throw new Error('state round trip failed');
    }),
  );

  const strategy = new AppleStrategy(
    { clientID: CLIENT_ID, teamID: TEAM_ID, keyID: KEY_ID, privateKey: client.pem, callbackURL: 'https://app.example.com/auth/apple/callback', tokenURL: `${origin}/auth/token`, jwksURL: `${origin}/auth/keys` },
    (_a, _r, profile, done) => done(null, { id: profile.id }),
  );
  const passport = new Passport();
  passport.use(strategy);
  const app = express();
  app.get('/auth/apple', passport.authenticate('apple', { session: false }));
  app.post('/auth/apple/callback', passport.authenticate('apple', { session: false }), (_req, res) => {
    res.end('ok');
  });
  const appServer = createServer(app);
  const appPort = await listen(appServer);
  const signIn = async (): Promise<void> => {
    const start = await call(appPort, 'GET', '/auth/apple', {});
    const state = new URL(String(start.headers.location)).searchParams.get('state')!;
    nonce = strategy.nonceFor(state);
    const cookie = (start.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]).join('; ');
    const body = new URLSearchParams({ code: 'c', state }).toString();
    const done = await call(appPort, 'POST', '/auth/apple/callback', { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }, body);
    if (done.status !== 200) throw new Error(`sign-in failed: ${done.status} ${done.text}`);
  };
  results.push(await measure('whole sign-in (redirect + callback, Apple on loopback)', 300, signIn));
  results.push({ name: 'JWKS fetches during the whole run', ops: strategy.keySet.fetchCount + keys.fetchCount, perOpMicros: 0, heapDeltaKB: 0 });

  apple.close();
  appServer.close();
  console.table(results);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
