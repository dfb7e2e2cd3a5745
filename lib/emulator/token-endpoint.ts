import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { authenticateClient } from './client-auth.js';
import type { ClientRecord } from './clients.js';
import { CODE_TTL_MS } from './code-store.js';
import type { EmulatorContext } from './context.js';
import { ACCESS_TOKEN_TTL_S, type GrantRecord } from './grant-store.js';
import { duplicated, field, type FormFields, sendJson, sendOAuthError } from './http.js';
import { signIdToken } from './id-token.js';

const EXPIRED_CODE = 'The code has expired or has been revoked.';
const EXPIRED_TOKEN = 'The token has expired or has been revoked.';

/**
 * POST /auth/token (form body): the authorization_code and refresh_token grants, with every
 * failure answered as Apple answers it, `400 {"error", "error_description"}`.
 */
export function handleToken(ctx: EmulatorContext, fields: FormFields, res: ServerResponse): void {
  const repeated = duplicated(fields);
  if (repeated.length > 0) return sendOAuthError(res, 'invalid_request', `Repeated parameter: ${repeated.join(', ')}.`);
  // A misspelt or missing grant_type ("grand_type") is answered unsupported_grant_type.
  const grantType = field(fields, 'grant_type');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    return sendOAuthError(res, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
  }
  const auth = authenticateClient(ctx, fields);
  if (!auth.ok) return sendOAuthError(res, auth.error, auth.description);
  if (grantType === 'authorization_code') return redeemCode(ctx, auth.client, fields, res);
  refresh(ctx, auth.client, fields, res);
}

function redeemCode(ctx: EmulatorContext, client: ClientRecord, fields: FormFields, res: ServerResponse): void {
  const code = field(fields, 'code');
  if (!code) return sendOAuthError(res, 'invalid_request', 'Missing code.');
  const record = ctx.codes.get(code);
  if (!record) return sendOAuthError(res, 'invalid_grant', EXPIRED_CODE);
  if (record.clientID !== client.clientID) {
    return sendOAuthError(res, 'invalid_grant', `client_id mismatch. The code was not issued to ${client.clientID}.`);
  }
  if (ctx.now() - record.issuedAt > CODE_TTL_MS) return sendOAuthError(res, 'invalid_grant', EXPIRED_CODE);
  if (record.used) return sendOAuthError(res, 'invalid_grant', 'The code has already been used.');

  const redirectURI = field(fields, 'redirect_uri');
  if (record.redirectURI === undefined) {
    // A native code was issued without a redirect_uri; sending one fails (Apple forum 118135).
    if (redirectURI !== undefined) return sendOAuthError(res, 'invalid_grant', 'This code was issued to an app: redeem it without redirect_uri.');
  } else if (redirectURI !== record.redirectURI) {
    // Apple's ErrorResponse lists a mismatched redirect URI under invalid_client, not invalid_grant.
    return sendOAuthError(res, 'invalid_client', 'Invalid redirect_uri: send the exact redirect_uri of the authorize request.');
  }

  if (record.codeChallenge !== undefined) {
    const verifier = field(fields, 'code_verifier');
    if (!verifier) return sendOAuthError(res, 'invalid_grant', 'Missing code_verifier: the authorize request carried a code_challenge.');
    if (createHash('sha256').update(verifier, 'ascii').digest('base64url') !== record.codeChallenge) {
      return sendOAuthError(res, 'invalid_grant', 'The code_verifier does not match the code_challenge.');
    }
  }

  record.used = true;
  const grant = ctx.grants.create(client.clientID, record.identity, record.authTime);
  respond(ctx, grant, res, { refreshToken: true, nonce: record.nonce });
}

function refresh(ctx: EmulatorContext, client: ClientRecord, fields: FormFields, res: ServerResponse): void {
  const refreshToken = field(fields, 'refresh_token');
  if (!refreshToken) return sendOAuthError(res, 'invalid_request', 'Missing refresh_token.');
  const grant = ctx.grants.live(refreshToken);
  if (!grant) return sendOAuthError(res, 'invalid_grant', EXPIRED_TOKEN);
  if (grant.clientID !== client.clientID) {
    return sendOAuthError(res, 'invalid_grant', `client_id mismatch. The token was not issued to ${client.clientID}.`);
  }
  respond(ctx, grant, res, { refreshToken: false });
}

function respond(ctx: EmulatorContext, grant: GrantRecord, res: ServerResponse, options: { refreshToken: boolean; nonce?: string }): void {
  const accessToken = ctx.grants.issueAccessToken(grant, ctx.now());
  const idToken = signIdToken(ctx, {
    clientID: grant.clientID,
    identity: grant.identity,
    authTime: grant.authTime,
    nonce: options.nonce,
    accessToken,
  });
  // Apple returns a refresh_token only with the authorization_code grant.
  const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_S };
  if (options.refreshToken) body.refresh_token = grant.refreshToken;
  body.id_token = idToken;
  sendJson(res, 200, body);
}
