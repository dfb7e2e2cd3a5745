import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { expect } from 'chai';
import { createAppleEmulator, type AppleEmulator } from '../../lib/emulator/index.js';
import { CALLBACK, errorShown, json, request } from './helpers.js';

/** Sends raw bytes and resolves with the raw answer (the server closes or the timer fires). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 1500).unref();
  });
}

describe('emulator HTTP server', () => {
  let apple: AppleEmulator;
  let port: number;

  beforeEach(async () => {
    apple = await createAppleEmulator();
    apple.strategyOptions({ callbackURL: CALLBACK });
    port = Number(new URL(apple.url).port);
  });
  afterEach(() => apple.close());

  it('listens on 127.0.0.1 and on the port asked for', async () => {
    const fixed = await createAppleEmulator({ port: 0 });
    try {
      expect(new URL(fixed.url).hostname).to.equal('127.0.0.1');
      const taken = Number(new URL(fixed.url).port);
      const err = await createAppleEmulator({ port: taken }).then(
        (e) => e.close(),
        (e: NodeJS.ErrnoException) => e,
      );
      expect((err as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
    } finally {
      await fixed.close();
    }
  });

  it('answers unknown paths 404 JSON and wrong methods 405 with Allow', async () => {
    const missing = await request(`${apple.url}/auth/nothing`);
    expect([missing.status, missing.text]).to.deep.equal([404, '{"error":"not_found"}']);
    expect((await request(`${apple.url}/auth/keys/`)).status).to.equal(404);
    expect((await request(`${apple.url}/__proto__`)).status).to.equal(404);
    const wrong = await request(`${apple.url}/auth/token`);
    expect([wrong.status, wrong.text, wrong.headers.get('allow')]).to.deep.equal([405, '{"error":"method_not_allowed"}', 'POST']);
    const post = await request(`${apple.url}/auth/keys`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).to.deep.equal([405, 'GET, HEAD']);
    const put = await request(`${apple.url}/auth/authorize`, { method: 'PUT', body: 'x' });
    expect(put.status).to.equal(405);
  });

  it('refuses a body over 64 KB with 413 and keeps serving', async () => {
    const big = await request(`${apple.url}/auth/token`, { body: `grant_type=${'a'.repeat(70 * 1024)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(big.status).to.equal(413);
    expect(json(big)).to.deep.equal({ error: 'invalid_request', error_description: 'The body is larger than 64 KB.' });

    // Without a Content-Length (chunked), the cap applies while reading.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${apple.url}/auth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 80; i += 1) req.write('x'.repeat(1024));
      req.end();
    });
    expect(status).to.equal(413);
    expect((await request(`${apple.url}/auth/keys`)).status).to.equal(200);
  });

  it('survives hostile input: bad JSON, bad encodings, broken HTTP', async () => {
    const badJson = await request(`${apple.url}/auth/token`, { body: '{"grant_type":', headers: { 'content-type': 'application/json' } });
    expect(json(badJson).error).to.equal('invalid_request');
    const badForm = await request(`${apple.url}/auth/token`, { body: '%%%&&==&grant_type=%E0%A4%A', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(json(badForm)).to.deep.equal({ error: 'unsupported_grant_type', error_description: 'grant_type must be authorization_code or refresh_token.' });
    const badQuery = await request(`${apple.url}/auth/authorize?client_id=%E0%A4%A&redirect_uri=%`);
    expect(errorShown(badQuery.text).error).to.equal('invalid_client');
    const badConsent = await request(`${apple.url}/auth/authorize/consent`, { form: { request_id: '../../etc' } });
    expect(badConsent.status).to.equal(400);
    const consentJson = await request(`${apple.url}/auth/authorize/consent`, { json: { request_id: 'x' } });
    expect(errorShown(consentJson.text)).to.deep.equal({ error: 'invalid_request', description: 'The body must be application/x-www-form-urlencoded.' });

    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).to.match(/^HTTP\/1\.1 400/);
    expect(await raw(port, `GET /auth/keys HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`)).to.match(/^HTTP\/1\.1 431/);
    expect(await raw(port, 'GET http://evil.example/auth/keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).to.match(/^HTTP\/1\.1 200/);
    expect(await raw(port, 'POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nab')).to.equal('');

    expect((await request(`${apple.url}/auth/keys`)).status).to.equal(200);
  });

  it('answers HEAD on GET endpoints without a body', async () => {
    const head = await request(`${apple.url}/auth/keys`, { method: 'HEAD' });
    expect([head.status, head.text]).to.deep.equal([200, '']);
  });

  it('close() resolves, twice, and the port stops answering', async () => {
    await apple.close();
    await apple.close();
    const err = await fetch(`${apple.url}/auth/keys`).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(Error);
  });

  it('refuses bad options with AppleConfigError', async () => {
    for (const options of [{ port: -1 }, { port: 1.5 }, { tokenLifetime: 0 }, { booleans: 'yes' }, { users: [] }, { users: [{ email: 'nope' }] }, { notificationURL: 'not a url' }]) {
      const err = await createAppleEmulator(options as never).then(
        async (e) => {
          await e.close();
          return undefined;
        },
        (e: { name?: string; code?: string }) => e,
      );
      expect(err, JSON.stringify(options)).to.include({ name: 'AppleConfigError', code: 'ERR_CONFIG_INVALID' });
    }
    expect(() => apple.strategyOptions({ callbackURL: 'https://app.example.com/cb#frag' })).to.throw(/must not have a #fragment/);
  });
});
