import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createAppleEmulator, type AppleEmulator, type AppleEmulatorStrategyOptions } from '../../lib/emulator/index.js';
import { authorizeURL, autoSubmitted, CALLBACK, consent, errorShown, halfHash, request, requestID, signIn } from './helpers.js';

describe('emulator /auth/authorize', () => {
  let apple: AppleEmulator;
  let web: AppleEmulatorStrategyOptions;
  const base = (): Record<string, string> => ({
    client_id: web.clientID,
    redirect_uri: CALLBACK,
    response_type: 'code',
    response_mode: 'form_post',
    scope: 'name email',
    state: 'st-1',
  });

  beforeEach(async () => {
    apple = await createAppleEmulator();
    web = apple.strategyOptions({ callbackURL: CALLBACK });
  });
  afterEach(() => apple.close());

  async function refused(params: Record<string, string>): Promise<{ error: string; description: string }> {
    const reply = await request(authorizeURL(apple, params));
    expect(reply.status).to.equal(400);
    expect(reply.headers.get('content-type')).to.equal('text/html;charset=UTF-8');
    expect(reply.headers.get('location')).to.equal(null);
    return errorShown(reply.text);
  }

  describe('refuses bad requests on its own page, never redirecting', () => {
    it('an unknown client_id is invalid_client', async () => {
      expect(await refused({ ...base(), client_id: 'com.example.unknown' })).to.deep.equal({
        error: 'invalid_client',
        description: 'Invalid client id or web redirect url.',
      });
    });

    it('client_id is case-sensitive', async () => {
      expect((await refused({ ...base(), client_id: 'COM.EXAMPLE.WEB' })).error).to.equal('invalid_client');
    });

    it('a missing client_id is invalid_request', async () => {
      const { client_id: _ignored, ...rest } = base();
      expect(await refused(rest)).to.deep.equal({ error: 'invalid_request', description: 'Missing client_id.' });
    });

    it('an unregistered redirect_uri is invalid_request, even one the registered URL is a prefix of', async () => {
      expect(await refused({ ...base(), redirect_uri: 'https://evil.example.com/cb' })).to.deep.equal({
        error: 'invalid_request',
        description: 'Invalid web redirect url.',
      });
      expect((await refused({ ...base(), redirect_uri: `${CALLBACK}/more` })).error).to.equal('invalid_request');
      expect((await refused({ ...base(), redirect_uri: `${CALLBACK}?x=1` })).error).to.equal('invalid_request');
    });

    it('a bundle ID with no Return URL cannot start a web sign-in', async () => {
      apple.registerClient({ clientID: 'com.example.ios' });
      expect((await refused({ ...base(), client_id: 'com.example.ios' })).description).to.equal('Invalid web redirect url.');
    });

    it('a scope without response_mode=form_post is invalid_request', async () => {
      const expected = { error: 'invalid_request', description: 'response_mode must be form_post when name or email scope is requested.' };
      expect(await refused({ ...base(), response_mode: 'query' })).to.deep.equal(expected);
      const { response_mode: _ignored, ...noMode } = base();
      expect(await refused({ ...noMode, scope: 'email' })).to.deep.equal(expected);
    });

    it('a response_type other than code or code id_token is unsupported_response_type', async () => {
      for (const responseType of ['id_token', 'token', '', 'code token']) {
        expect(await refused({ ...base(), response_type: responseType }), responseType).to.deep.equal({
          error: 'unsupported_response_type',
          description: 'response_type must be "code" or "code id_token".',
        });
      }
    });

    it('an unknown scope is invalid_scope', async () => {
      expect(await refused({ ...base(), scope: 'name profile' })).to.deep.equal({
        error: 'invalid_scope',
        description: 'Invalid client scope: profile. Use name and/or email.',
      });
    });

    it('scopes joined with a literal "+" are refused instead of silently dropped', async () => {
      const url = `${apple.url}/auth/authorize?client_id=${web.clientID}&redirect_uri=${encodeURIComponent(CALLBACK)}&response_type=code&response_mode=form_post&scope=name+email`;
      const reply = await request(url);
      expect(reply.status).to.equal(400);
      expect(errorShown(reply.text).error).to.equal('invalid_scope');
    });

    it('code id_token with response_mode=query is invalid_request', async () => {
      const { scope: _ignored, ...noScope } = base();
      expect(await refused({ ...noScope, response_type: 'code id_token', response_mode: 'query' })).to.deep.equal({
        error: 'invalid_request',
        description: 'Invalid response mode.',
      });
      expect((await refused({ ...base(), response_mode: 'web_message' })).description).to.equal('Invalid response mode.');
    });

    it('a code_challenge needs code_challenge_method=S256', async () => {
      const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
      expect((await refused({ ...base(), code_challenge: challenge })).description).to.equal('code_challenge_method must be S256.');
      expect((await refused({ ...base(), code_challenge: challenge, code_challenge_method: 'plain' })).error).to.equal('invalid_request');
    });
  });

  describe('the consent page', () => {
    it('offers every test user, the email choice, forget-consent, Continue and Cancel, with no script', async () => {
      const reply = await request(authorizeURL(apple, base()));
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-security-policy')).to.contain("script-src 'none'");
      expect(reply.headers.get('x-frame-options')).to.equal('DENY');
      const html = reply.text;
      expect(apple.users.map((u) => u.email)).to.deep.equal(['maria.ruiz@example.com', 'john.appleseed@example.com']);
      for (const user of apple.users) expect(html).to.contain(`name="user" id="user-${apple.users.indexOf(user)}" value="${user.sub}"`);
      for (const id of ['email-share', 'email-hide', 'forget-consent', 'user-custom', 'custom-email', 'custom-first-name', 'custom-last-name']) {
        expect(html, id).to.contain(`id="${id}"`);
      }
      expect(html).to.contain('<button type="submit" id="continue" name="action" value="continue">');
      expect(html).to.contain('<button type="submit" id="cancel" name="action" value="cancel" formnovalidate>');
      expect(html).not.to.contain('<script');
      expect(html).not.to.match(/(src|href)="https?:/);
      // The request itself stays on the server: the page carries only an opaque id.
      expect(html).not.to.contain(CALLBACK);
      expect(html).not.to.contain('st-1');
      expect(requestID(html)).to.match(/^[A-Za-z0-9_-]{24}$/);
    });

    it('escapes what it echoes', async () => {
      await apple.close();
      apple = await createAppleEmulator({ users: [{ email: 'x@example.com', firstName: '<img src=x onerror=alert(1)>', lastName: '"&\'' }] });
      web = apple.strategyOptions({ callbackURL: CALLBACK });
      const html = (await request(authorizeURL(apple, base()))).text;
      expect(html).to.contain('&lt;img src=x onerror=alert(1)&gt; &quot;&amp;&#39;');
      expect(html).not.to.contain('<img');
    });

    it('leaves out the email choice when email is not asked', async () => {
      const html = (await request(authorizeURL(apple, { ...base(), scope: 'name' }))).text;
      expect(html).not.to.contain('id="email-hide"');
    });
  });

  describe('Continue', () => {
    it('answers with a form auto-posting code, state and the user JSON to redirect_uri', async () => {
      const reply = await consent(apple, base());
      expect(reply.status).to.equal(200);
      const { action, fields } = autoSubmitted(reply.text);
      expect(action).to.equal(CALLBACK);
      expect(Object.keys(fields)).to.deep.equal(['code', 'state', 'user']);
      expect(fields.code).to.match(/^c[0-9a-f]{32}\.0\.emu\.[A-Za-z0-9_-]{16}$/);
      expect(fields.state).to.equal('st-1');
      expect(fields.user).to.equal('{"name":{"firstName":"Maria","lastName":"Ruiz"},"email":"maria.ruiz@example.com"}');
      // The only script is the one submitting the form, allowed by its nonce.
      const nonce = /script-src 'nonce-([^']+)'/.exec(reply.headers.get('content-security-policy') ?? '')?.[1];
      expect(reply.text).to.contain(`<script nonce="${nonce}">document.getElementById('apple-response').submit();</script>`);
    });

    it('sends the user field only on the first consent, and again after forgetConsent or the forget-consent box', async () => {
      const first = await signIn(apple, web);
      expect(first.user).to.equal('{"name":{"firstName":"Maria","lastName":"Ruiz"},"email":"maria.ruiz@example.com"}');
      const second = await signIn(apple, web);
      expect(Object.keys(second)).to.deep.equal(['code', 'state']);

      expect(apple.forgetConsent()).to.equal(1);
      expect((await signIn(apple, web)).user).to.equal(first.user);
      expect((await signIn(apple, web)).user).to.equal(undefined);

      expect((await signIn(apple, web, {}, { forget_consent: '1' })).user).to.equal(first.user);
    });

    it('forgetConsent with a filter forgets only the matching consents', async () => {
      const john = apple.users[1]!;
      await signIn(apple, web);
      await signIn(apple, web, {}, { user: john.sub });
      expect(apple.forgetConsent({ email: 'JOHN.appleseed@example.com' })).to.equal(1);
      expect((await signIn(apple, web)).user).to.equal(undefined);
      expect(JSON.parse((await signIn(apple, web, {}, { user: john.sub })).user!)).to.deep.equal({
        name: { firstName: 'John', lastName: 'Appleseed' },
        email: 'john.appleseed@example.com',
      });
    });

    it('puts only the requested scopes in the user field, and none without name or email', async () => {
      expect((await signIn(apple, web, { scope: 'email' })).user).to.equal('{"email":"maria.ruiz@example.com"}');
      apple.forgetConsent();
      expect((await signIn(apple, web, { scope: 'name' })).user).to.equal('{"name":{"firstName":"Maria","lastName":"Ruiz"}}');
      apple.forgetConsent();
      expect((await signIn(apple, web, { scope: 'openid' })).user).to.equal(undefined);
    });

    it('takes a typed-in Apple ID', async () => {
      const fields = await signIn(apple, web, {}, { user: 'custom', custom_email: 'ann.lee@example.org', custom_first_name: 'Ann', custom_last_name: 'Lee' });
      expect(fields.user).to.equal('{"name":{"firstName":"Ann","lastName":"Lee"},"email":"ann.lee@example.org"}');
    });

    it('shows the page again, the request still pending, when the typed email is not an address', async () => {
      const page = await request(authorizeURL(apple, base()));
      const id = requestID(page.text);
      const bad = await request(`${apple.url}/auth/authorize/consent`, { form: { request_id: id, user: 'custom', custom_email: 'not-an-email', custom_first_name: '<b>' } });
      expect(bad.status).to.equal(400);
      expect(bad.text).to.contain('<p class="error" id="form-error">Type the email address of the other Apple ID.</p>');
      expect(bad.text).to.contain('value="&lt;b&gt;"');
      const good = await request(`${apple.url}/auth/authorize/consent`, { form: { request_id: id, user: apple.users[0]!.sub } });
      expect(autoSubmitted(good.text).fields.state).to.equal('st-1');
    });

    it('answers each consent page once', async () => {
      const page = await request(authorizeURL(apple, base()));
      const form = { request_id: requestID(page.text), action: 'continue' };
      expect((await request(`${apple.url}/auth/authorize/consent`, { form })).status).to.equal(200);
      const again = await request(`${apple.url}/auth/authorize/consent`, { form });
      expect(again.status).to.equal(400);
      expect(errorShown(again.text)).to.deep.equal({
        error: 'invalid_request',
        description: 'This sign-in request has expired or was already answered. Start again from the app.',
      });
    });

    it('echoes state exactly, whatever it contains', async () => {
      const state = 'a&b"<c>\'d é %20+';
      expect((await signIn(apple, web, { state })).state).to.equal(state);
    });

    it('redirects with the code in the query when no scope is asked and response_mode is query', async () => {
      const { scope: _s, response_mode: _m, ...params } = base();
      const reply = await consent(apple, { ...params, state: 'x y' });
      expect(reply.status).to.equal(302);
      const location = new URL(reply.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).to.equal(CALLBACK);
      expect([...location.searchParams.keys()]).to.deep.equal(['code', 'state']);
      expect(location.searchParams.get('state')).to.equal('x y');
    });

    it('with code id_token, also posts a front-channel id_token carrying c_hash and the raw nonce', async () => {
      const fields = await signIn(apple, web, { response_type: 'code id_token', nonce: 'n-0S6_WzA2Mj' });
      expect(Object.keys(fields)).to.deep.equal(['code', 'id_token', 'state', 'user']);
      const { payload, protectedHeader } = await jwtVerify(fields.id_token!, createRemoteJWKSet(new URL(web.jwksURL)), {
        algorithms: ['RS256'],
        issuer: apple.issuer,
        audience: web.clientID,
      });
      expect(protectedHeader.kid).to.be.a('string');
      expect(payload.c_hash).to.equal(halfHash(fields.code!));
      expect(payload.nonce).to.equal('n-0S6_WzA2Mj');
      expect(payload.at_hash).to.equal(undefined);
      expect(payload.email).to.equal('maria.ruiz@example.com');
    });
  });

  describe('Hide My Email', () => {
    it('gives a stable relay address per user and client, kept on later sign-ins', async () => {
      const maria = apple.users[0]!;
      const relay = apple.relayEmail(maria.sub, web.clientID);
      expect(relay).to.match(/^[0-9a-f]{10}@privaterelay\.appleid\.com$/);
      const first = await signIn(apple, web, {}, { email_choice: 'hide' });
      expect(JSON.parse(first.user!).email).to.equal(relay);
      apple.forgetConsent();
      expect(JSON.parse((await signIn(apple, web, {}, { email_choice: 'hide' })).user!).email).to.equal(relay);

      const other = apple.strategyOptions({ clientID: 'com.example.other', callbackURL: CALLBACK });
      const elsewhere = JSON.parse((await signIn(apple, other, {}, { email_choice: 'hide' })).user!).email as string;
      expect(elsewhere).to.match(/@privaterelay\.appleid\.com$/);
      expect(elsewhere).not.to.equal(relay);

      // The same emulator code gives the same address in another run.
      const again = await createAppleEmulator();
      try {
        expect(again.relayEmail(maria.sub, web.clientID)).to.equal(relay);
        expect(again.users[0]!.sub).to.equal(maria.sub);
      } finally {
        await again.close();
      }
    });
  });

  describe('Cancel', () => {
    it('posts error=user_cancelled_authorize and state, nothing else', async () => {
      const reply = await consent(apple, base(), { action: 'cancel' });
      expect(reply.status).to.equal(200);
      expect(autoSubmitted(reply.text)).to.deep.equal({ action: CALLBACK, fields: { error: 'user_cancelled_authorize', state: 'st-1' } });
    });

    it('does not count as a consent', async () => {
      await consent(apple, base(), { action: 'cancel' });
      expect((await signIn(apple, web)).user).to.be.a('string');
    });
  });
});
