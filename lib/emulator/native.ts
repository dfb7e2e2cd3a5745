import { AppleConfigError } from '../index.js';
import { nowSeconds, type EmulatorContext } from './context.js';
import type { Identity } from './identity.js';
import { signIdToken } from './id-token.js';
import type { IssuedIdentityToken, IssueIdentityTokenOptions } from './types.js';
import { relayEmail, resolveUser } from './users.js';

/**
 * What Apple hands a native app after a sign-in: an identity token for the bundle ID (with
 * `c_hash`, the email, and `real_user_status` on the first sign-in) and an authorization code that
 * the app's server redeems with `client_id` = bundle ID and no `redirect_uri`.
 */
export function issueIdentityToken(ctx: EmulatorContext, options: IssueIdentityTokenOptions): IssuedIdentityToken {
  if (!options || typeof options !== 'object') throw new AppleConfigError('ERR_CONFIG_INVALID', 'issueIdentityToken needs { clientID, ... }.');
  const client = ctx.clients.get(options.clientID);
  if (!client) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `Unknown clientID "${String(options.clientID)}": call registerClient({ clientID }) for the bundle ID first.`);
  }
  let user;
  if (options.user !== undefined) user = resolveUser(options.user);
  else if (options.sub !== undefined) {
    user = ctx.users.find((u) => u.sub === options.sub);
    if (!user) throw new AppleConfigError('ERR_CONFIG_INVALID', `No emulator user has the sub "${options.sub}".`);
  } else user = ctx.users[0]!;

  const consent = ctx.consents.get(client.clientID, user.sub);
  const hideEmail = consent ? consent.hideEmail : options.hideEmail === true;
  if (!consent) ctx.consents.grant({ clientID: client.clientID, sub: user.sub, email: user.email, hideEmail });
  const identity: Identity = {
    sub: user.sub,
    email: hideEmail ? relayEmail(user.sub, client.clientID) : user.email,
    isPrivateEmail: hideEmail,
    includeEmail: true,
  };
  const authTime = nowSeconds(ctx);
  const authorizationCode = ctx.codes.issue({
    clientID: client.clientID,
    redirectURI: undefined,
    identity,
    nonce: options.nonce,
    codeChallenge: undefined,
    authTime,
    issuedAt: ctx.now(),
  });
  const identityToken = signIdToken(ctx, {
    clientID: client.clientID,
    identity,
    authTime,
    nonce: options.nonce,
    code: authorizationCode,
    realUserStatus: consent ? undefined : (options.realUserStatus ?? 2),
  });
  return {
    identityToken,
    authorizationCode,
    user: user.sub,
    email: consent ? null : identity.email,
    fullName: consent ? null : { givenName: user.firstName, familyName: user.lastName },
  };
}
