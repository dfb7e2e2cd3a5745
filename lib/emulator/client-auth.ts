import type { ClientRecord } from './clients.js';
import { verifyClientSecret } from './client-secret.js';
import { nowSeconds, type EmulatorContext } from './context.js';
import { duplicated, field, type FormFields } from './http.js';

/** The outcome of client authentication on /auth/token and /auth/revoke. */
export type ClientAuthentication = { ok: true; client: ClientRecord } | { ok: false; error: string; description: string };

/**
 * client_secret_post, the only method Apple supports: `client_id` and `client_secret` in the form.
 * Missing or repeated parameters are `invalid_request` (TN3107); an unknown client or a bad secret
 * is `invalid_client`.
 */
export function authenticateClient(ctx: EmulatorContext, fields: FormFields): ClientAuthentication {
  const repeated = duplicated(fields);
  if (repeated.length > 0) return { ok: false, error: 'invalid_request', description: `Repeated parameter: ${repeated.join(', ')}.` };
  const clientID = field(fields, 'client_id');
  if (!clientID) return { ok: false, error: 'invalid_request', description: 'Missing client_id.' };
  const secret = field(fields, 'client_secret');
  if (secret === undefined) return { ok: false, error: 'invalid_request', description: 'Missing client_secret.' };
  const client = ctx.clients.get(clientID);
  if (!client) return { ok: false, error: 'invalid_client', description: `Unknown client_id ${clientID}.` };
  const verdict = verifyClientSecret(secret, client, nowSeconds(ctx));
  if (!verdict.ok) return verdict;
  return { ok: true, client };
}
