import { expect } from 'chai';
import nock from 'nock';
import { postForm, request } from '../lib/apple-http.js';
import { codeOf } from './support/outcome.js';

describe('Apple HTTP', () => {

  it('stops reading a streamed answer past 256 KB', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      while (pulled < 800) {
        pulled += 1;
        yield new Uint8Array(64 * 1024);
      }
    }
    let aborted = false;
    const fake = async (_url: string, init: { signal: AbortSignal }) => {
      init.signal.addEventListener('abort', () => (aborted = true));
      return { status: 200, headers: { get: () => null }, body: endless(), text: async () => 'never used' };
    };
    expect(await codeOf(postForm('https://x.test/token', { a: 'b' }, { fetch: fake }, 'token endpoint'))).to.equal('ERR_APPLE_RESPONSE_INVALID');
    expect(pulled).to.equal(5);
    expect(aborted).to.equal(true);
  });

  it('refuses a declared content-length above the cap without reading', async () => {
    nock('https://appleid.apple.com').get('/auth/keys').reply(200, 'x', { 'content-length': String(10 * 1024 * 1024) });
    expect(await codeOf(request('https://appleid.apple.com/auth/keys', { method: 'GET', headers: {} }, {}, 'key endpoint'))).to.equal('ERR_APPLE_RESPONSE_INVALID');
  });

  it('reads a body from a fetch without a stream through text()', async () => {
    const fake = async () => ({ status: 200, headers: { get: () => null }, text: async () => '{"access_token":"a"}' });
    const out = await postForm('https://x.test/token', {}, { fetch: fake }, 'token endpoint');
    expect(out.json).to.deep.equal({ access_token: 'a' });
  });

  it('maps a 400 without an "error" to ERR_APPLE_RESPONSE_INVALID naming the content type', async () => {
    nock('https://appleid.apple.com').post('/auth/token').reply(400, '<html></html>', { 'content-type': 'text/html; charset=utf-8' });
    try {
      await postForm('https://appleid.apple.com/auth/token', {}, {}, 'token endpoint');
      throw new Error('accepted');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_APPLE_RESPONSE_INVALID');
      expect((err as Error).message).to.equal("Apple's token endpoint answered HTTP 400 with a body that is not JSON (text/html): check that the endpoint URL is Apple's.");
    }
  });

  it('a fetch that ignores the abort signal still times out', async () => {
    const never = () => new Promise<never>(() => undefined);
    expect(await codeOf(request('https://x.test/', { method: 'GET', headers: {} }, { fetch: never, timeout: 50 }, 'key endpoint'))).to.equal('ERR_APPLE_TIMEOUT');
  });
});

describe('Apple HTTP with an odd fetch', () => {
  it('refuses a fetch that resolves to no Response', async () => {
    const odd = async () => null as never;
    try {
      await request('https://x.test/', { method: 'GET', headers: {} }, { fetch: odd }, 'key endpoint');
      throw new Error('accepted');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_APPLE_RESPONSE_INVALID');
    }
  });
});
