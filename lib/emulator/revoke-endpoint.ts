import type { ServerResponse } from 'node:http';
import { authenticateClient } from './client-auth.js';
import { MAX_REVOCATIONS, type EmulatorContext } from './context.js';
import { field, type FormFields, sendEmpty, sendOAuthError } from './http.js';

/**
 * POST /auth/revoke (form body). Answers 200 with an empty body whether or not the token was live,
 * as Apple does. Revoking a refresh token or one of its access tokens invalidates both and forgets
 * the user's consent for that client, so the next sign-in brings the `user` field again.
 *
 * A token of the other kind than `token_type_hint` says is still revoked (RFC 7009 lets the server
 * look further); a token issued to another client is left alone, and the answer is still 200.
 */
export function handleRevoke(ctx: EmulatorContext, fields: FormFields, res: ServerResponse): void {
  const auth = authenticateClient(ctx, fields);
  if (!auth.ok) return sendOAuthError(res, auth.error, auth.description);
  const token = field(fields, 'token');
  if (!token) return sendOAuthError(res, 'invalid_request', 'Missing token.');
  const hint = field(fields, 'token_type_hint');
  if (hint !== undefined && hint !== 'refresh_token' && hint !== 'access_token') {
    return sendOAuthError(res, 'invalid_request', 'token_type_hint must be refresh_token or access_token.');
  }
  const clientID = auth.client.clientID;
  const grant = ctx.grants.find(token, hint, ctx.now());
  const known = grant !== undefined && grant.clientID === clientID;
  if (grant && known) {
    ctx.grants.revoke(grant);
    ctx.consents.forget({ sub: grant.identity.sub, clientID });
  }
  ctx.revocations.push({ token, tokenTypeHint: hint, clientID, known, at: ctx.now() });
  if (ctx.revocations.length > MAX_REVOCATIONS) ctx.revocations.splice(0, ctx.revocations.length - MAX_REVOCATIONS);
  sendEmpty(res, 200);
}
