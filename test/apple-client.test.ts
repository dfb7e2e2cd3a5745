import { expect } from 'chai';
import { verify as verifySignature } from 'node:crypto';
import nock from 'nock';
import { AppleClient, type AppleClientOptions } from '../lib/apple-client.js';
import type { FetchLike } from '../lib/apple-http.js';
import { AppleConfigError, AppleTokenError, AppleUpstreamError } from '../lib/errors.js';
import { clientKeyPair, decodeJwt, KEY_ID, nowSeconds, TEAM_ID } from './support/apple.js';

const APPLE = 'https://appleid.apple.com';
const WEB = 'com.example.web';
const IPHONE_APP = 'com.example.app';

type Form = Record<string, string>;

/** An Apple endpoint answering only a form post, recording each form as nock parsed it. */
function endpoint(path: string, status: number, answer: nock.Body, forms: Form[] = []): nock.Scope {
  return nock(APPLE)
    .matchHeader('content-type', 'application/x-www-form-urlencoded')
    .post(path, (form: Form) => {
      forms.push(form);
      return true;
    })
    .reply(status, answer);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('AppleClient', () => {
  const key = clientKeyPair();
  const base: AppleClientOptions = { clientID: WEB, teamID: TEAM_ID, keyID: KEY_ID, privateKey: key.pem };

  /** Checks a client secret as Apple does: ES256 P1363 signature by the client key, and its claims. */
  function expectSecretFor(secret: string, clientID: string): void {
    const { header, payload, signature } = decodeJwt(secret);
    expect(header).to.deep.equal({ alg: 'ES256', kid: KEY_ID, typ: 'JWT' });
    expect(payload).to.include({ iss: TEAM_ID, sub: clientID, aud: APPLE });
    expect(payload.iat).to.be.within(nowSeconds() - 5, nowSeconds() + 1);
    expect(payload.exp).to.equal((payload.iat as number) + 300);
    const [h, p] = secret.split('.');
    expect(verifySignature('sha256', Buffer.from(`${h}.${p}`), { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).to.equal(true);
  }

  describe('refresh', () => {
    it('refuses a missing refresh token before calling Apple', async () => {
      for (const bad of ['', undefined, 5]) {
        const err = await rejection(new AppleClient(base).refresh(bad as never));
        expect(err).to.have.property('code', 'ERR_CONFIG_INVALID');
      }
    });

    it('posts exactly grant_type, refresh_token, client_id and a fresh client secret', async () => {
      const forms: Form[] = [];
      endpoint('/auth/token', 200, { access_token: 'at.2', token_type: 'Bearer', expires_in: 3600, id_token: 'ignored' }, forms);
      const tokens = await new AppleClient(base).refresh('rt.1');
      expect(tokens).to.include({ access_token: 'at.2', token_type: 'Bearer', expires_in: 3600 });
      expect(forms).to.have.length(1);
      expect(forms[0]).to.deep.equal({ grant_type: 'refresh_token', refresh_token: 'rt.1', client_id: WEB, client_secret: forms[0]!.client_secret });
      expectSecretFor(forms[0]!.client_secret!, WEB);
    });

    it('refreshes a native app\'s token with that app\'s client ID and a secret signed for it', async () => {
      const forms: Form[] = [];
      endpoint('/auth/token', 200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600 }, forms);
      await new AppleClient(base).refresh('rt.native', { clientID: IPHONE_APP });
      expect(forms[0]!.client_id).to.equal(IPHONE_APP);
      expectSecretFor(forms[0]!.client_secret!, IPHONE_APP);
    });

    it('maps invalid_grant to AppleTokenError ERR_TOKEN_INVALID_GRANT with Apple\'s description and a hint', async () => {
      endpoint('/auth/token', 400, { error: 'invalid_grant', error_description: 'The token has expired or has been revoked.' });
      const err = (await rejection(new AppleClient(base).refresh('rt.revoked'))) as AppleTokenError;
      expect(err).to.be.instanceOf(AppleTokenError);
      expect(err.code).to.equal('ERR_TOKEN_INVALID_GRANT');
      expect(err.oauthError).to.equal('invalid_grant');
      expect(err.status).to.equal(400);
      expect(err.description).to.equal('The token has expired or has been revoked.');
      expect(err.message).to.include('Apple answered invalid_grant: The token has expired or has been revoked.');
      expect(err.hint).to.include('sign in again');
    });

    it('maps invalid_client to ERR_TOKEN_INVALID_CLIENT', async () => {
      endpoint('/auth/token', 400, { error: 'invalid_client' });
      const err = await rejection(new AppleClient(base).refresh('rt'));
      expect(err).to.be.instanceOf(AppleTokenError).with.property('code', 'ERR_TOKEN_INVALID_CLIENT');
    });

    it('reports a 5xx as AppleUpstreamError ERR_APPLE_HTTP_STATUS with the status', async () => {
      endpoint('/auth/token', 502, 'Bad Gateway');
      const err = await rejection(new AppleClient(base).refresh('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_HTTP_STATUS');
      expect(err).to.have.property('status', 502);
    });

    it('gives up after `timeout` ms with ERR_APPLE_TIMEOUT', async () => {
      nock(APPLE).post('/auth/token').delay(1_000).reply(200, { access_token: 'late', token_type: 'Bearer', expires_in: 1 });
      const started = Date.now();
      const err = await rejection(new AppleClient({ ...base, timeout: 100 }).refresh('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_TIMEOUT');
      expect((err as Error).message).to.include('100 ms');
      expect(Date.now() - started).to.be.below(900);
    });

    it('refuses a 200 without an access_token', async () => {
      endpoint('/auth/token', 200, { hello: 'world' });
      const err = await rejection(new AppleClient(base).refresh('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_RESPONSE_INVALID');
    });
  });

  describe('revoke', () => {
    it('posts exactly token, token_type_hint=refresh_token, client_id and client secret; resolves on Apple\'s empty 200', async () => {
      const forms: Form[] = [];
      const scope = endpoint('/auth/revoke', 200, '', forms);
      const result = await new AppleClient(base).revoke('rt.1');
      expect(result).to.equal(undefined);
      expect(scope.isDone()).to.equal(true);
      expect(forms[0]).to.deep.equal({ token: 'rt.1', token_type_hint: 'refresh_token', client_id: WEB, client_secret: forms[0]!.client_secret });
      expectSecretFor(forms[0]!.client_secret!, WEB);
    });

    it('does not pass a 200 HTML page (a proxy, not Apple) for a revocation', async () => {
      nock(APPLE).post('/auth/revoke').reply(200, '<html>Sign in to the proxy</html>', { 'content-type': 'text/html' });
      const err = await rejection(new AppleClient(base).revoke('rt.1'));
      expect(err).to.have.property('code', 'ERR_APPLE_RESPONSE_INVALID');
    });

    it('revokes an access token of a native app with its client ID', async () => {
      const forms: Form[] = [];
      endpoint('/auth/revoke', 200, '', forms);
      await new AppleClient(base).revoke('at.1', { tokenTypeHint: 'access_token', clientID: IPHONE_APP });
      expect(forms[0]).to.deep.equal({ token: 'at.1', token_type_hint: 'access_token', client_id: IPHONE_APP, client_secret: forms[0]!.client_secret });
      expectSecretFor(forms[0]!.client_secret!, IPHONE_APP);
    });

    it('maps Apple\'s 400 invalid_request to AppleTokenError', async () => {
      endpoint('/auth/revoke', 400, { error: 'invalid_request', error_description: 'token_type_hint does not match the token' });
      const err = await rejection(new AppleClient(base).revoke('rt'));
      expect(err).to.be.instanceOf(AppleTokenError).with.property('code', 'ERR_TOKEN_INVALID_REQUEST');
    });

    it('reports a 5xx as ERR_APPLE_HTTP_STATUS', async () => {
      endpoint('/auth/revoke', 503, 'Service Unavailable');
      const err = await rejection(new AppleClient(base).revoke('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_HTTP_STATUS');
    });

    it('gives up after `timeout` ms with ERR_APPLE_TIMEOUT', async () => {
      nock(APPLE).post('/auth/revoke').delay(1_000).reply(200, '');
      const err = await rejection(new AppleClient({ ...base, timeout: 100 }).revoke('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_TIMEOUT');
    });

    it('refuses an empty token before calling Apple', async () => {
      const err = await rejection(new AppleClient(base).revoke(''));
      expect(err).to.be.instanceOf(AppleConfigError).with.property('code', 'ERR_CONFIG_INVALID');
    });
  });

  describe('with node-fetch as fetch', () => {
    it('refreshes and revokes through node-fetch, with the same form bodies', async () => {
      const { default: nodeFetch } = await import('node-fetch');
      const forms: Form[] = [];
      endpoint('/auth/token', 200, { access_token: 'at.nf', token_type: 'Bearer', expires_in: 3600 }, forms);
      endpoint('/auth/revoke', 200, '', forms);
      const client = new AppleClient({ ...base, fetch: nodeFetch as unknown as FetchLike });
      expect((await client.refresh('rt.nf')).access_token).to.equal('at.nf');
      await client.revoke('rt.nf');
      expect(forms.map((f) => ({ ...f, client_secret: 'x' }))).to.deep.equal([
        { grant_type: 'refresh_token', refresh_token: 'rt.nf', client_id: WEB, client_secret: 'x' },
        { token: 'rt.nf', token_type_hint: 'refresh_token', client_id: WEB, client_secret: 'x' },
      ]);
    });

    it('times out through node-fetch too', async () => {
      const { default: nodeFetch } = await import('node-fetch');
      nock(APPLE).post('/auth/token').delay(1_000).reply(200, {});
      const err = await rejection(new AppleClient({ ...base, timeout: 100, fetch: nodeFetch as unknown as FetchLike }).refresh('rt'));
      expect(err).to.be.instanceOf(AppleUpstreamError).with.property('code', 'ERR_APPLE_TIMEOUT');
    });
  });
});
