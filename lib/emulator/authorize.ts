import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { nowSeconds, type EmulatorContext } from './context.js';
import { field, type FormFields, sendHtml, sendRedirect } from './http.js';
import type { Identity } from './identity.js';
import { signIdToken } from './id-token.js';
import { autoSubmitPage, consentPage, errorPage } from './pages.js';
import type { PendingRequest } from './pending-requests.js';
import { isEmail, relayEmail, resolveUser } from './users.js';
import type { AppleEmulatorResolvedUser } from './types.js';

const SCOPES = ['name', 'email', 'openid'];
const MODES = ['query', 'fragment', 'form_post'] as const;
const MAX_PARAM_LENGTH = 4096;
const PKCE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

function refuse(res: ServerResponse, error: string, description: string): void {
  sendHtml(res, 400, errorPage(error, description));
}

/** The raw (still percent-encoded) value of a query parameter, to see how the client encoded it. */
function rawParam(rawQuery: string, name: string): string | undefined {
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq)) === name) return eq === -1 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/**
 * GET /auth/authorize: checks the request as Apple does and shows the consent page. Every refusal
 * is an error page with status 400; Apple never redirects an invalid request back to the client.
 */
export function handleAuthorize(ctx: EmulatorContext, url: URL, res: ServerResponse): void {
  ctx.stats.authorizeRequests += 1;
  const q = url.searchParams;
  for (const [, value] of q) {
    if (value.length > MAX_PARAM_LENGTH) return refuse(res, 'invalid_request', 'A parameter is too long.');
  }
  const get = (name: string): string | undefined => q.get(name) ?? undefined;

  const clientID = get('client_id');
  if (!clientID) return refuse(res, 'invalid_request', 'Missing client_id.');
  const client = ctx.clients.get(clientID);
  if (!client) return refuse(res, 'invalid_client', 'Invalid client id or web redirect url.');

  const redirectURI = get('redirect_uri');
  if (!redirectURI || !client.redirectURIs.includes(redirectURI)) return refuse(res, 'invalid_request', 'Invalid web redirect url.');

  const responseTypeParts = (get('response_type') ?? '').split(' ').filter(Boolean).sort();
  const responseType = responseTypeParts.join(' ');
  if (responseType !== 'code' && responseType !== 'code id_token') {
    return refuse(res, 'unsupported_response_type', 'response_type must be "code" or "code id_token".');
  }

  const rawScope = rawParam(url.search.slice(1), 'scope');
  if (rawScope?.includes('+')) {
    return refuse(res, 'invalid_scope', 'Separate scopes with %20, not "+": Apple has been seen to drop the name and email of scopes joined with "+".');
  }
  const scopes = [...new Set((get('scope') ?? '').split(' ').filter(Boolean))];
  const unknown = scopes.find((s) => !SCOPES.includes(s));
  if (unknown !== undefined) return refuse(res, 'invalid_scope', `Invalid client scope: ${unknown}. Use name and/or email.`);

  const modeParam = get('response_mode');
  if (modeParam !== undefined && !(MODES as readonly string[]).includes(modeParam)) return refuse(res, 'invalid_request', 'Invalid response mode.');
  const responseMode = (modeParam ?? (responseType === 'code' ? 'query' : 'fragment')) as PendingRequest['responseMode'];
  if (scopes.length > 0 && responseMode !== 'form_post') {
    return refuse(res, 'invalid_request', 'response_mode must be form_post when name or email scope is requested.');
  }
  if (responseType === 'code id_token' && responseMode === 'query') return refuse(res, 'invalid_request', 'Invalid response mode.');

  // PKCE is not documented by Apple but reportedly enforced when sent; only S256 is honoured here.
  const codeChallenge = get('code_challenge');
  if (codeChallenge !== undefined) {
    if (get('code_challenge_method') !== 'S256') return refuse(res, 'invalid_request', 'code_challenge_method must be S256.');
    if (!PKCE_CHALLENGE.test(codeChallenge)) return refuse(res, 'invalid_request', 'Invalid code_challenge.');
  }

  const pending: PendingRequest = {
    clientID,
    redirectURI,
    responseType,
    responseMode,
    scopes,
    state: get('state'),
    nonce: get('nonce'),
    codeChallenge,
    createdAt: ctx.now(),
  };
  const requestID = ctx.pending.add(pending);
  sendHtml(res, 200, consentPage({ requestID, clientID, users: ctx.users, scopes }));
}

/** Sends the answer to redirect_uri the way the request's response_mode says. */
function deliver(res: ServerResponse, pending: PendingRequest, fields: Record<string, string>): void {
  if (pending.responseMode === 'form_post') {
    const nonce = randomBytes(16).toString('base64');
    return sendHtml(res, 200, autoSubmitPage(pending.redirectURI, fields, nonce), nonce);
  }
  const encoded = Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  if (pending.responseMode === 'fragment') return sendRedirect(res, `${pending.redirectURI}#${encoded}`);
  sendRedirect(res, `${pending.redirectURI}${pending.redirectURI.includes('?') ? '&' : '?'}${encoded}`);
}

function chosenUser(ctx: EmulatorContext, fields: FormFields): { user: AppleEmulatorResolvedUser } | { error: string } {
  const choice = field(fields, 'user') ?? ctx.users[0]?.sub;
  if (choice !== 'custom') {
    const user = ctx.users.find((u) => u.sub === choice);
    return user ? { user } : { error: 'Choose one of the Apple IDs.' };
  }
  const email = (field(fields, 'custom_email') ?? '').trim();
  if (!isEmail(email)) return { error: 'Type the email address of the other Apple ID.' };
  const firstName = (field(fields, 'custom_first_name') ?? '').trim().slice(0, 100);
  const lastName = (field(fields, 'custom_last_name') ?? '').trim().slice(0, 100);
  return { user: resolveUser({ email, firstName, lastName }) };
}

/**
 * POST /auth/authorize/consent: the user pressed Continue or Cancel. Answers with what Apple sends
 * to redirect_uri: `code`, `state`, the `user` JSON on a first consent, or `error=user_cancelled_authorize`.
 */
export function handleConsent(ctx: EmulatorContext, fields: FormFields, res: ServerResponse): void {
  const requestID = field(fields, 'request_id') ?? '';
  const pending = ctx.pending.get(requestID, ctx.now());
  if (!pending) return refuse(res, 'invalid_request', 'This sign-in request has expired or was already answered. Start again from the app.');

  const withState = (values: Record<string, string>): Record<string, string> =>
    pending.state === undefined ? values : { ...values, state: pending.state };

  if (field(fields, 'action') === 'cancel') {
    ctx.pending.take(requestID);
    return deliver(res, pending, withState({ error: 'user_cancelled_authorize' }));
  }

  const hide = field(fields, 'email_choice') === 'hide';
  const chosen = chosenUser(ctx, fields);
  if ('error' in chosen) {
    const typed = {
      user: field(fields, 'user'),
      email: field(fields, 'custom_email'),
      firstName: field(fields, 'custom_first_name'),
      lastName: field(fields, 'custom_last_name'),
      hide,
    };
    return sendHtml(res, 400, consentPage({ requestID, clientID: pending.clientID, users: ctx.users, scopes: pending.scopes, error: chosen.error, typed }));
  }
  ctx.pending.take(requestID);
  const { user } = chosen;

  if (field(fields, 'forget_consent') === '1') ctx.consents.forget({ sub: user.sub, clientID: pending.clientID });
  const consent = ctx.consents.get(pending.clientID, user.sub);
  // Apple keeps the first choice of Share or Hide My Email for later sign-ins.
  const hideEmail = consent ? consent.hideEmail : hide;
  if (!consent) ctx.consents.grant({ clientID: pending.clientID, sub: user.sub, email: user.email, hideEmail });

  const identity: Identity = {
    sub: user.sub,
    email: hideEmail ? relayEmail(user.sub, pending.clientID) : user.email,
    isPrivateEmail: hideEmail,
    includeEmail: pending.scopes.includes('email'),
  };
  const authTime = nowSeconds(ctx);
  const code = ctx.codes.issue({
    clientID: pending.clientID,
    redirectURI: pending.redirectURI,
    identity,
    nonce: pending.nonce,
    codeChallenge: pending.codeChallenge,
    authTime,
    issuedAt: ctx.now(),
  });

  const answer: Record<string, string> = { code };
  if (pending.responseType === 'code id_token') {
    answer.id_token = signIdToken(ctx, { clientID: pending.clientID, identity, authTime, nonce: pending.nonce, code });
  }
  if (pending.state !== undefined) answer.state = pending.state;
  const asksName = pending.scopes.includes('name');
  const asksEmail = pending.scopes.includes('email');
  if (!consent && (asksName || asksEmail)) {
    const shared: Record<string, unknown> = {};
    if (asksName) shared.name = { firstName: user.firstName, lastName: user.lastName };
    if (asksEmail) shared.email = identity.email;
    answer.user = JSON.stringify(shared);
  }
  deliver(res, pending, answer);
}
