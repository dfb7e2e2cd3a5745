import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createAppleEmulator, type AppleEmulator } from '../../lib/emulator/index.js';
import { decodeHeader, decodePayload } from './helpers.js';

describe('emulator server-to-server notifications', () => {
  let apple: AppleEmulator;
  let receiver: Server;
  let receiverURL: string;
  let received: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[];
  let answerStatus: number;

  beforeEach(async () => {
    received = [];
    answerStatus = 204;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(answerStatus).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverURL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/apple/notifications`;
    apple = await createAppleEmulator({ notificationURL: receiverURL, now: () => 1_760_000_000_000 });
    apple.registerClient({ clientID: 'com.example.ios' });
    apple.strategyOptions({ callbackURL: 'https://app.example.com/cb' });
  });
  afterEach(async () => {
    await apple.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('signs an email event with events as a JSON string, verifiable with /auth/keys', async () => {
    const maria = apple.users[0]!;
    const jwt = apple.signNotification({ type: 'email-disabled', sub: maria.sub });
    const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(`${apple.url}/auth/keys`)), {
      algorithms: ['RS256'],
      issuer: apple.issuer,
      audience: 'com.example.ios',
      currentDate: new Date(1_760_000_000_000),
    });
    expect(protectedHeader.kid).to.equal(decodeHeader(jwt).kid);
    expect(Object.keys(payload)).to.deep.equal(['iss', 'aud', 'iat', 'jti', 'events']);
    expect(payload.iat).to.equal(1_760_000_000);
    expect(payload.jti).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(payload.events).to.be.a('string');
    expect(payload.events).to.equal(
      JSON.stringify({ type: 'email-disabled', sub: maria.sub, event_time: 1_760_000_000, email: apple.relayEmail(maria.sub, 'com.example.ios'), is_private_email: 'true' }),
    );
  });

  it('leaves email fields out of account events, and takes clientID, email and event_time when given', () => {
    const revoked = decodePayload(apple.signNotification({ type: 'consent-revoked', sub: 'abc', clientID: 'com.example.web', eventTime: 1508184845 }));
    expect(revoked.aud).to.equal('com.example.web');
    expect(JSON.parse(revoked.events as string)).to.deep.equal({ type: 'consent-revoked', sub: 'abc', event_time: 1508184845 });
    const deleted = decodePayload(apple.signNotification({ type: 'account-deleted' }));
    expect(JSON.parse(deleted.events as string)).to.deep.equal({ type: 'account-deleted', sub: apple.users[0]!.sub, event_time: 1_760_000_000 });
    const enabled = decodePayload(apple.signNotification({ type: 'email-enabled', email: 'maria.ruiz@example.com', isPrivateEmail: false }));
    expect(JSON.parse(enabled.events as string)).to.include({ email: 'maria.ruiz@example.com', is_private_email: 'false' });
    const a = decodePayload(apple.signNotification({ type: 'account-delete' }));
    const b = decodePayload(apple.signNotification({ type: 'account-delete' }));
    expect(a.jti).not.to.equal(b.jti);
  });

  it('refuses an unknown type', () => {
    expect(() => apple.signNotification({ type: 'password-changed' as 'email-enabled' })).to.throw(/A notification needs a type/);
  });

  it('sendNotification posts {"payload": JWT} as JSON to notificationURL and resolves to the status', async () => {
    const status = await apple.sendNotification({ type: 'consent-revoked' });
    expect(status).to.equal(204);
    expect(received).to.have.length(1);
    const [call] = received;
    expect(call!.method).to.equal('POST');
    expect(call!.url).to.equal('/apple/notifications');
    expect(call!.headers['content-type']).to.equal('application/json');
    const body = JSON.parse(call!.body) as Record<string, unknown>;
    expect(Object.keys(body)).to.deep.equal(['payload']);
    expect(JSON.parse(decodePayload(body.payload as string).events as string).type).to.equal('consent-revoked');
    expect(apple.stats.notificationsSent).to.equal(1);
  });

  it('sendNotification posts to the URL given and reports an error status as is', async () => {
    answerStatus = 500;
    expect(await apple.sendNotification({ type: 'account-delete' }, receiverURL.replace('/apple/notifications', '/other'))).to.equal(500);
    expect(received.map((r) => r.url)).to.deep.equal(['/other']);
  });
});
