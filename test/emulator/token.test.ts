import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { AppleClient, AppleTokenError, CLIENT_SECRET_AUDIENCE } from '../../lib/index.js';
import { createAppleEmulator, type AppleEmulator, type AppleEmulatorStrategyOptions } from '../../lib/emulator/index.js';
import { CALLBACK, clientKey, decodePayload, halfHash, handMadeSecret, json, nowSeconds, request, secretFor, signIn } from './helpers.js';

describe('emulator /auth/token and /auth/revoke', () => {
  let apple: AppleEmulator;
  let web: AppleEmulatorStrategyOptions;
  let clock: number | undefined;

  beforeEach(async () => {
    clock = undefined;
    apple = await createAppleEmulator({ now: () => clock ?? Date.now() });
    web = apple.strategyOptions({ callbackURL: CALLBACK });
  });
  afterEach(() => apple.close());

  function tokenRequest(form: Record<string, string>) {
    return request(web.tokenURL, { form });
  }

  function codeForm(code: string, overrides: Record<string, string> = {}): Record<string, string> {
    return { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, client_id: web.clientID, client_secret: secretFor(web), ...overrides };
  }

  async function expectError(form: Record<string, string>, error: string, description: string): Promise<void> {
    const reply = await tokenRequest(form);
    expect(reply.status).to.equal(400);
    expect(reply.headers.get('content-type')).to.equal('application/json;charset=UTF-8');
    expect(json(reply)).to.deep.equal({ error, error_description: description });
  }

  async function code(extra: Record<string, string> = {}, choices: Record<string, string> = {}): Promise<string> {
    return (await signIn(apple, web, extra, choices)).code!;
  }

  describe('a successful code exchange', () => {
    it('answers Apple token response with an id_token that verifies against /auth/keys', async () => {
      const reply = await tokenRequest(codeForm(await code({ nonce: 'raw-nonce-1' })));
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('cache-control')).to.equal('no-store');
      const body = json(reply);
      expect(Object.keys(body)).to.deep.equal(['access_token', 'token_type', 'expires_in', 'refresh_token', 'id_token']);
      expect(body.token_type).to.equal('Bearer');
      expect(body.expires_in).to.equal(3600);
      expect(body.access_token).to.match(/^a[0-9a-f]{48}\./);
      expect(body.refresh_token).to.match(/^r[0-9a-f]{48}\./);

      const { payload, protectedHeader } = await jwtVerify(body.id_token as string, createRemoteJWKSet(new URL(web.jwksURL)), {
        algorithms: ['RS256'],
        issuer: apple.issuer,
        audience: web.clientID,
      });
      expect(protectedHeader).to.deep.equal({ kid: (await (await fetch(web.jwksURL)).json()).keys[0].kid, alg: 'RS256' });
      const maria = apple.users[0]!;
      expect(payload).to.deep.equal({
        iss: apple.url,
        aud: 'com.example.web',
        exp: payload.iat! + 86400,
        iat: payload.iat,
        sub: maria.sub,
        nonce: 'raw-nonce-1',
        at_hash: halfHash(body.access_token as string),
        email: 'maria.ruiz@example.com',
        email_verified: 'true',
        is_private_email: 'false',
        auth_time: payload.auth_time,
        nonce_supported: true,
      });
      expect(Math.abs(payload.iat! - nowSeconds())).to.be.at.most(2);
      expect(payload.auth_time).to.be.within(payload.iat! - 2, payload.iat!);
    });

    it('sends the booleans as JSON booleans when asked to, and the relay address when the email is hidden', async () => {
      await apple.close();
      apple = await createAppleEmulator({ booleans: 'boolean', tokenLifetime: 600 });
      web = apple.strategyOptions({ callbackURL: CALLBACK });
      const body = json(await tokenRequest(codeForm(await code({}, { email_choice: 'hide' }))));
      const claims = decodePayload(body.id_token as string);
      expect(claims.email).to.equal(apple.relayEmail(apple.users[0]!.sub, web.clientID));
      expect(claims.email_verified).to.equal(true);
      expect(claims.is_private_email).to.equal(true);
      expect((claims.exp as number) - (claims.iat as number)).to.equal(600);
    });

    it('leaves the email claims out when the email scope was not granted, and the nonce when none was sent', async () => {
      const claims = decodePayload(json(await tokenRequest(codeForm(await code({ scope: 'name' })))).id_token as string);
      expect(Object.keys(claims)).to.deep.equal(['iss', 'aud', 'exp', 'iat', 'sub', 'at_hash', 'auth_time', 'nonce_supported']);
    });

    it('accepts a client secret whose aud is an array holding Apple', async () => {
      const key = clientKey(web);
      const iat = nowSeconds();
      const secret = handMadeSecret(key, { alg: 'ES256', kid: web.keyID }, { iss: web.teamID, sub: web.clientID, aud: [CLIENT_SECRET_AUDIENCE], iat, exp: iat + 300 });
      expect((await tokenRequest(codeForm(await code(), { client_secret: secret }))).status).to.equal(200);
    });

    it('interoperates with the package AppleClient: exchange, refresh and revoke', async () => {
      const client = new AppleClient({ ...web });
      const tokens = await client.exchangeCode(await code(), { redirectURI: CALLBACK });
      expect(tokens.refresh_token).to.be.a('string');
      const refreshed = await client.refresh(tokens.refresh_token!);
      expect(refreshed.refresh_token).to.equal(undefined);
      await client.revoke(tokens.refresh_token!);
      const err = await client.refresh(tokens.refresh_token!).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(AppleTokenError);
      expect((err as AppleTokenError).oauthError).to.equal('invalid_grant');
    });
  });

  describe('client secret rejections', () => {
    let theCode: string;
    beforeEach(async () => {
      theCode = await code();
    });

    it('a kid other than the registered key ID is invalid_client', async () => {
      await expectError(codeForm(theCode, { client_secret: secretFor(web, { keyID: 'WRONGKEY01' }) }), 'invalid_client', `The client_secret kid "WRONGKEY01" is not the key ID registered for com.example.web.`);
    });

    it('an ES256 secret signed by another key is invalid_client', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await expectError(
        codeForm(theCode, { client_secret: secretFor(web, { key: privateKey }) }),
        'invalid_client',
        'The client_secret signature does not verify with the key registered as EMUKEY0001.',
      );
    });

    it('a DER-encoded signature is invalid_client', async () => {
      const iat = nowSeconds();
      const secret = handMadeSecret(clientKey(web), { alg: 'ES256', kid: web.keyID }, { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat, exp: iat + 300 }, 'der');
      const reply = await tokenRequest(codeForm(theCode, { client_secret: secret }));
      expect(reply.status).to.equal(400);
      expect(json(reply).error).to.equal('invalid_client');
      expect(json(reply).error_description).to.match(/^The client_secret signature is 7[0-2] bytes; ES256 wants the 64-byte r\|\|s form/);
    });

    it('an alg other than ES256 is invalid_client', async () => {
      const iat = nowSeconds();
      const secret = handMadeSecret(clientKey(web), { alg: 'HS256', kid: web.keyID }, { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat, exp: iat + 300 });
      await expectError(codeForm(theCode, { client_secret: secret }), 'invalid_client', 'The client_secret is signed with "HS256"; Apple accepts ES256 only.');
    });

    it('an iat that is not a number is invalid_client', async () => {
      const iat = nowSeconds();
      const secret = handMadeSecret(clientKey(web), { alg: 'ES256', kid: web.keyID }, { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat: String(iat), exp: iat + 300 });
      await expectError(codeForm(theCode, { client_secret: secret }), 'invalid_client', 'The client_secret iat must be a whole number of seconds.');
    });

    it('an exp in milliseconds is invalid_client (too long a lifetime)', async () => {
      const iat = nowSeconds();
      const secret = handMadeSecret(clientKey(web), { alg: 'ES256', kid: web.keyID }, { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat, exp: Date.now() + 300_000 });
      await expectError(codeForm(theCode, { client_secret: secret }), 'invalid_client', 'The client_secret lives longer than 15777000 seconds.');
    });

    it('an expired secret is invalid_client', async () => {
      await expectError(codeForm(theCode, { client_secret: secretFor(web, { now: Date.now() - 301_000 }) }), 'invalid_client', 'The client_secret has expired.');
    });

    it('a lifetime one second over 15777000 is invalid_client, and exactly 15777000 passes', async () => {
      const iat = nowSeconds();
      const claims = { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat };
      const header = { alg: 'ES256', kid: web.keyID };
      await expectError(codeForm(theCode, { client_secret: handMadeSecret(clientKey(web), header, { ...claims, exp: iat + 15777001 }) }), 'invalid_client', 'The client_secret lives longer than 15777000 seconds.');
      expect((await tokenRequest(codeForm(theCode, { client_secret: handMadeSecret(clientKey(web), header, { ...claims, exp: iat + 15777000 }) }))).status).to.equal(200);
    });

    it('a wrong iss or aud is invalid_client', async () => {
      const iat = nowSeconds();
      const header = { alg: 'ES256', kid: web.keyID };
      const good = { iss: web.teamID, sub: web.clientID, aud: CLIENT_SECRET_AUDIENCE, iat, exp: iat + 300 };
      await expectError(codeForm(theCode, { client_secret: handMadeSecret(clientKey(web), header, { ...good, iss: 'OTHERTEAM1' }) }), 'invalid_client', 'The client_secret iss "OTHERTEAM1" is not the team of com.example.web.');
      await expectError(codeForm(theCode, { client_secret: handMadeSecret(clientKey(web), header, { ...good, aud: 'https://account.apple.com' }) }), 'invalid_client', 'The client_secret aud must be https://appleid.apple.com.');
    });

    it('a sub other than client_id is invalid_request, as TN3107 says', async () => {
      await expectError(codeForm(theCode, { client_secret: secretFor(web, { clientID: 'com.example.ios' }) }), 'invalid_request', 'The client_secret sub "com.example.ios" does not match client_id com.example.web.');
    });

    it('garbage, a missing secret and an unknown client', async () => {
      await expectError(codeForm(theCode, { client_secret: 'not.a.jwt!' }), 'invalid_client', 'The client_secret is not a JWT (three base64url parts).');
      const { client_secret: _s, ...noSecret } = codeForm(theCode);
      await expectError(noSecret, 'invalid_request', 'Missing client_secret.');
      await expectError(codeForm(theCode, { client_id: 'com.example.nobody' }), 'invalid_client', 'Unknown client_id com.example.nobody.');
    });

    it('a refused secret leaves the code redeemable', async () => {
      await expectError(codeForm(theCode, { client_secret: secretFor(web, { keyID: 'WRONGKEY01' }) }), 'invalid_client', 'The client_secret kid "WRONGKEY01" is not the key ID registered for com.example.web.');
      expect((await tokenRequest(codeForm(theCode))).status).to.equal(200);
    });
  });

  describe('request and code rejections', () => {
    it('a JSON body is invalid_request', async () => {
      const reply = await request(web.tokenURL, { json: codeForm(await code()) });
      expect(reply.status).to.equal(400);
      expect(json(reply)).to.deep.equal({ error: 'invalid_request', error_description: 'The body must be application/x-www-form-urlencoded.' });
    });

    it('a wrong or missing grant_type is unsupported_grant_type', async () => {
      const description = 'grant_type must be authorization_code or refresh_token.';
      await expectError(codeForm('x', { grant_type: 'client_credentials' }), 'unsupported_grant_type', description);
      const { grant_type: _g, ...noGrant } = codeForm('x');
      await expectError({ ...noGrant, grand_type: 'authorization_code' }, 'unsupported_grant_type', description);
    });

    it('a repeated parameter is invalid_request', async () => {
      const reply = await request(web.tokenURL, { body: `${new URLSearchParams(codeForm('x'))}&code=y`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(json(reply)).to.deep.equal({ error: 'invalid_request', error_description: 'Repeated parameter: code.' });
    });

    it('a reused code is invalid_grant "The code has already been used."', async () => {
      const theCode = await code();
      expect((await tokenRequest(codeForm(theCode))).status).to.equal(200);
      await expectError(codeForm(theCode), 'invalid_grant', 'The code has already been used.');
    });

    it('a code older than 5 minutes is invalid_grant', async () => {
      const start = Date.now();
      clock = start;
      const theCode = await code();
      clock = start + 5 * 60 * 1000 + 1000;
      await expectError(codeForm(theCode, { client_secret: secretFor(web, { now: clock }) }), 'invalid_grant', 'The code has expired or has been revoked.');
      clock = start + 5 * 60 * 1000 - 1000;
      expect((await tokenRequest(codeForm(theCode, { client_secret: secretFor(web, { now: clock }) }))).status).to.equal(200);
    });

    it('an unknown code is invalid_grant', async () => {
      await expectError(codeForm('c0000.0.emu.x'), 'invalid_grant', 'The code has expired or has been revoked.');
    });

    it('a redirect_uri other than the authorize request one is invalid_client, as Apple lists it', async () => {
      const theCode = await code();
      const description = 'Invalid redirect_uri: send the exact redirect_uri of the authorize request.';
      await expectError(codeForm(theCode, { redirect_uri: `${CALLBACK}/` }), 'invalid_client', description);
      const { redirect_uri: _r, ...noRedirect } = codeForm(theCode);
      await expectError(noRedirect, 'invalid_client', description);
      expect((await tokenRequest(codeForm(theCode))).status).to.equal(200);
    });

    it('a code redeemed by another client is invalid_grant', async () => {
      const theCode = await code();
      const other = apple.strategyOptions({ clientID: 'com.example.other', callbackURL: CALLBACK });
      await expectError(codeForm(theCode, { client_id: other.clientID, client_secret: secretFor(other) }), 'invalid_grant', 'client_id mismatch. The code was not issued to com.example.other.');
    });

    it('enforces PKCE when the authorize request carried a challenge', async () => {
      const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
      const theCode = await code({ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      await expectError(codeForm(theCode), 'invalid_grant', 'Missing code_verifier: the authorize request carried a code_challenge.');
      await expectError(codeForm(theCode, { code_verifier: `${verifier}x` }), 'invalid_grant', 'The code_verifier does not match the code_challenge.');
      expect((await tokenRequest(codeForm(theCode, { code_verifier: verifier }))).status).to.equal(200);
    });
  });

  describe('refresh and revoke', () => {
    async function tokens(): Promise<Record<string, unknown>> {
      return json(await tokenRequest(codeForm(await code({ nonce: 'n1' }))));
    }
    function refreshForm(refreshToken: string): Record<string, string> {
      return { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: web.clientID, client_secret: secretFor(web) };
    }
    function revoke(form: Record<string, string>) {
      return request(web.revokeURL, { form: { client_id: web.clientID, client_secret: secretFor(web), ...form } });
    }

    it('the refresh grant answers a new access token and id_token, without a refresh_token', async () => {
      const first = await tokens();
      const reply = await tokenRequest(refreshForm(first.refresh_token as string));
      expect(reply.status).to.equal(200);
      const body = json(reply);
      expect(Object.keys(body)).to.deep.equal(['access_token', 'token_type', 'expires_in', 'id_token']);
      expect(body.access_token).not.to.equal(first.access_token);
      const claims = decodePayload(body.id_token as string);
      expect(claims.at_hash).to.equal(halfHash(body.access_token as string));
      expect(claims.sub).to.equal(apple.users[0]!.sub);
      expect(claims.nonce).to.equal(undefined);
      expect(claims.email).to.equal('maria.ruiz@example.com');
    });

    it('refuses an unknown refresh token and one issued to another client', async () => {
      await expectError(refreshForm('r-unknown'), 'invalid_grant', 'The token has expired or has been revoked.');
      const first = await tokens();
      const other = apple.strategyOptions({ clientID: 'com.example.other', callbackURL: CALLBACK });
      await expectError(
        { ...refreshForm(first.refresh_token as string), client_id: other.clientID, client_secret: secretFor(other) },
        'invalid_grant',
        'client_id mismatch. The token was not issued to com.example.other.',
      );
    });

    it('revoking the refresh token answers 200 with an empty body, then refresh is invalid_grant and the next sign-in is a first consent', async () => {
      const first = await tokens();
      expect((await signIn(apple, web)).user).to.equal(undefined);
      const reply = await revoke({ token: first.refresh_token as string, token_type_hint: 'refresh_token' });
      expect(reply.status).to.equal(200);
      expect(reply.text).to.equal('');
      await expectError(refreshForm(first.refresh_token as string), 'invalid_grant', 'The token has expired or has been revoked.');
      expect(apple.revocations).to.have.length(1);
      expect(apple.revocations[0]).to.include({ token: first.refresh_token, tokenTypeHint: 'refresh_token', clientID: 'com.example.web', known: true });
      expect((await signIn(apple, web)).user).to.equal('{"name":{"firstName":"Maria","lastName":"Ruiz"},"email":"maria.ruiz@example.com"}');
    });

    it('revoking the access token revokes its refresh token too', async () => {
      const first = await tokens();
      expect((await revoke({ token: first.access_token as string, token_type_hint: 'access_token' })).status).to.equal(200);
      await expectError(refreshForm(first.refresh_token as string), 'invalid_grant', 'The token has expired or has been revoked.');
    });

    it('answers 200 for an unknown token and for another client token, revoking nothing', async () => {
      const first = await tokens();
      const unknown = await revoke({ token: 'r-never-issued' });
      expect([unknown.status, unknown.text]).to.deep.equal([200, '']);
      const other = apple.strategyOptions({ clientID: 'com.example.other', callbackURL: CALLBACK });
      const foreign = await request(web.revokeURL, { form: { client_id: other.clientID, client_secret: secretFor(other), token: first.refresh_token as string } });
      expect(foreign.status).to.equal(200);
      expect(apple.revocations.map((r) => r.known)).to.deep.equal([false, false]);
      expect((await tokenRequest(refreshForm(first.refresh_token as string))).status).to.equal(200);
      expect(apple.stats.revokeRequests).to.equal(2);
    });

    it('authenticates the client like /auth/token', async () => {
      const first = await tokens();
      const reply = await revoke({ token: first.refresh_token as string, client_secret: secretFor(web, { keyID: 'WRONGKEY01' }) });
      expect(reply.status).to.equal(400);
      expect(json(reply).error).to.equal('invalid_client');
      const bad = await revoke({ token: first.refresh_token as string, token_type_hint: 'id_token' });
      expect(json(bad)).to.deep.equal({ error: 'invalid_request', error_description: 'token_type_hint must be refresh_token or access_token.' });
      expect(apple.revocations).to.deep.equal([]);
      expect((await tokenRequest(refreshForm(first.refresh_token as string))).status).to.equal(200);
    });
  });
});
