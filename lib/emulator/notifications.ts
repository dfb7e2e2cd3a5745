import { randomUUID } from 'node:crypto';
import { AppleConfigError } from '../index.js';
import { nowSeconds, type EmulatorContext } from './context.js';
import type { AppleEmulatorNotification, AppleEmulatorNotificationType } from './types.js';
import { relayEmail } from './users.js';

const TYPES: readonly AppleEmulatorNotificationType[] = ['email-disabled', 'email-enabled', 'consent-revoked', 'account-delete', 'account-deleted'];

/** Milliseconds to wait for the receiving server. */
const SEND_TIMEOUT_MS = 10_000;

/**
 * Signs a server-to-server notification as Apple does: RS256 with a kid, `iss`, `aud`, `iat`,
 * a random `jti`, and `events` as a JSON *string* (the wire form; Apple's docs print an object).
 */
export function signNotification(ctx: EmulatorContext, event: AppleEmulatorNotification): string {
  if (!event || typeof event !== 'object' || !TYPES.includes(event.type)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `A notification needs a type: one of ${TYPES.join(', ')}.`);
  }
  const clientID = event.clientID ?? ctx.clients.first()?.clientID;
  if (!clientID) throw new AppleConfigError('ERR_CONFIG_INVALID', 'A notification needs a clientID (its aud): register a client first or pass clientID.');
  const sub = event.sub ?? ctx.users[0]!.sub;
  const iat = nowSeconds(ctx);
  const events: Record<string, unknown> = { type: event.type, sub, event_time: event.eventTime ?? iat };
  if (event.type === 'email-disabled' || event.type === 'email-enabled' || event.email !== undefined) {
    events.email = event.email ?? relayEmail(sub, clientID);
    events.is_private_email = String(event.isPrivateEmail ?? true);
  }
  return ctx.keys.sign({ iss: ctx.issuer, aud: clientID, iat, jti: randomUUID(), events: JSON.stringify(events) });
}

/** POSTs `{"payload": "<JWT>"}` as application/json; resolves to the HTTP status of the answer. */
export async function sendNotification(ctx: EmulatorContext, event: AppleEmulatorNotification, url: string | undefined): Promise<number> {
  const target = url ?? ctx.notificationURL;
  if (!target) throw new AppleConfigError('ERR_CONFIG_INVALID', 'sendNotification needs a URL: pass one or set the notificationURL option.');
  const payload = signNotification(ctx, event);
  const response = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload }),
    redirect: 'manual',
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  await response.arrayBuffer().catch(() => undefined);
  ctx.stats.notificationsSent += 1;
  return response.status;
}
