import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { callbackParams, param } from '../lib/callback-params.js';
import { codeOf } from './support/outcome.js';

function fakeRequest(props: Record<string, unknown>, body?: string): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers: {}, method: 'POST', url: '/cb', ...props });
  if (body !== undefined) stream.end(body);
  return stream as unknown as IncomingMessage;
}

describe('callback parameters', () => {
  it('reads only the query of a GET', async () => {
    const req = fakeRequest({ method: 'GET', url: '/cb?code=q' });
    expect(await callbackParams(req)).to.deep.equal({ code: 'q' });
  });

  it('reads an unparsed urlencoded body and merges the query under it', async () => {
    const req = fakeRequest({ url: '/cb?state=q&x=1', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }, 'code=c%20d&state=s');
    expect(await callbackParams(req)).to.deep.equal({ state: 's', x: '1', code: 'c d' });
  });

  it('uses a parsed req.body as is', async () => {
    const req = fakeRequest({ body: { code: 'c', user: { name: {} } }, query: { a: 'b' } });
    expect(await callbackParams(req)).to.deep.equal({ a: 'b', code: 'c', user: { name: {} } });
  });

  it('parses a string body left by a text parser', async () => {
    const req = fakeRequest({ body: 'code=c', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await callbackParams(req)).to.deep.equal({ code: 'c' });
  });

  it('keeps the first of repeated parameters', async () => {
    const req = fakeRequest({ headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'code=a&code=b');
    expect(await callbackParams(req)).to.deep.equal({ code: 'a' });
  });


  it('refuses a body of a type Apple never sends', async () => {
    const req = fakeRequest({ headers: { 'content-type': 'text/plain' } }, 'code=c');
    expect(await codeOf(callbackParams(req))).to.equal('ERR_CALLBACK_BODY_INVALID');
  });

  it('reads the body still unread under an empty req.body left by a JSON parser (Express 4)', async () => {
    const req = fakeRequest({ body: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'code=c&state=s');
    expect(await callbackParams(req)).to.deep.equal({ code: 'c', state: 's' });
  });

  it('refuses a body declared larger than the cap without reading it', async () => {
    const req = fakeRequest({ headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '999999' } });
    expect(await codeOf(callbackParams(req))).to.equal('ERR_CALLBACK_BODY_TOO_LARGE');
  });

  it('gives up on a body that never finishes', async () => {
    const req = fakeRequest({ headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    (req as unknown as PassThrough).write('code=');
    expect(await codeOf(callbackParams(req, { timeout: 50 }))).to.equal('ERR_CALLBACK_BODY_TIMEOUT');
  });

  it('reports a stream error as ERR_CALLBACK_BODY_INVALID', async () => {
    const req = fakeRequest({ headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const pending = callbackParams(req);
    (req as unknown as PassThrough).destroy(new Error('aborted'));
    try {
      await pending;
      throw new Error('read');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_CALLBACK_BODY_INVALID');
    }
  });

  it('param() returns strings only', () => {
    expect(param({ a: 'x', b: ['x'], c: { d: 1 } }, 'a')).to.equal('x');
    expect(param({ a: 'x', b: ['x'], c: { d: 1 } }, 'b')).to.equal(undefined);
    expect(param({ a: 'x', b: ['x'], c: { d: 1 } }, 'c')).to.equal(undefined);
  });
});
