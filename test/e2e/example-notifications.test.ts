// The example app receiving the emulator's server-to-server notifications over real HTTP.
import { expect } from 'chai';
import { request } from 'node:http';
import { startExample, type RunningExample } from '../../example/server.js';

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('example app: server-to-server notifications', function () {
  this.timeout(60_000);
  let example: RunningExample;

  before(async () => {
    example = await startExample({ port: 0, database: ':memory:', log: () => undefined });
  });
  after(async () => {
    await example?.close();
  });

  const apple = (): NonNullable<RunningExample['apple']> => example.apple!;
  const maria = () => apple().users[0]!;
  const seed = () => example.users.signIn({ sub: maria().sub, email: maria().email, givenName: 'Maria', refreshToken: 'r.1' });

  it('email-disabled and email-enabled switch forwarding off and on', async () => {
    seed();
    expect(await apple().sendNotification({ type: 'email-disabled', sub: maria().sub })).to.equal(200);
    expect(example.users.find(maria().sub)!.email_disabled).to.equal(1);
    expect(await apple().sendNotification({ type: 'email-enabled', sub: maria().sub })).to.equal(200);
    expect(example.users.find(maria().sub)!.email_disabled).to.equal(0);
  });

  it('consent-revoked forgets the refresh token and keeps the user', async () => {
    seed();
    expect(await apple().sendNotification({ type: 'consent-revoked', sub: maria().sub })).to.equal(200);
    const row = example.users.find(maria().sub)!;
    expect(row.refresh_token).to.equal(null);
    expect(row.given_name).to.equal('Maria');
  });

  for (const type of ['account-delete', 'account-deleted'] as const) {
    it(`${type} deletes the user`, async () => {
      seed();
      expect(await apple().sendNotification({ type, sub: maria().sub })).to.equal(200);
      expect(example.users.find(maria().sub)).to.equal(undefined);
    });
  }

  it('refuses a replayed notification and a forged one with 400', async () => {
    seed();
    const payload = JSON.stringify({ payload: apple().signNotification({ type: 'email-disabled', sub: maria().sub }) });
    expect((await post(`${example.url}/apple/notifications`, payload)).status).to.equal(200);
    const replay = await post(`${example.url}/apple/notifications`, payload);
    expect(replay).to.deep.equal({ status: 400, text: '{"error":"ERR_NOTIFICATION_REPLAYED"}' });
    const [h, p] = apple().signNotification({ type: 'account-delete', sub: maria().sub }).split('.');
    const forged = await post(`${example.url}/apple/notifications`, JSON.stringify({ payload: `${h}.${p}.${'A'.repeat(342)}` }));
    expect(forged).to.deep.equal({ status: 400, text: '{"error":"ERR_ID_TOKEN_SIGNATURE"}' });
    expect(example.users.find(maria().sub)).not.to.equal(undefined);
  });

  it('refuses a notification for another app', async () => {
    seed();
    apple().registerClient({ clientID: 'com.other.app' });
    const payload = JSON.stringify({ payload: apple().signNotification({ type: 'account-delete', sub: maria().sub, clientID: 'com.other.app' }) });
    expect(await post(`${example.url}/apple/notifications`, payload)).to.deep.equal({ status: 400, text: '{"error":"ERR_ID_TOKEN_AUDIENCE"}' });
    expect(example.users.find(maria().sub)).not.to.equal(undefined);
  });
});
