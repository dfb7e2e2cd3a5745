import { nowSeconds, type EmulatorContext } from './context.js';
import { leftHalfHash, type Identity } from './identity.js';

/** What goes into one id_token besides the identity. */
export interface IdTokenInput {
  clientID: string;
  identity: Identity;
  /** Seconds. */
  authTime: number;
  nonce?: string;
  /** Adds `at_hash` (tokens from /auth/token). */
  accessToken?: string;
  /** Adds `c_hash` (front-channel and native tokens, which travel with a code). */
  code?: string;
  /** Native first sign-ins only; Apple never sends it on the web. */
  realUserStatus?: 0 | 1 | 2;
}

/** Signs an id_token with Apple's claims, in Apple's order, booleans in the configured form. */
export function signIdToken(ctx: EmulatorContext, input: IdTokenInput): string {
  const iat = nowSeconds(ctx);
  const flag = (value: boolean): boolean | string => (ctx.booleans === 'boolean' ? value : String(value));
  const claims: Record<string, unknown> = {
    iss: ctx.issuer,
    aud: input.clientID,
    exp: iat + ctx.tokenLifetime,
    iat,
    sub: input.identity.sub,
  };
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  if (input.accessToken !== undefined) claims.at_hash = leftHalfHash(input.accessToken);
  if (input.code !== undefined) claims.c_hash = leftHalfHash(input.code);
  if (input.identity.includeEmail) {
    claims.email = input.identity.email;
    claims.email_verified = flag(true);
    claims.is_private_email = flag(input.identity.isPrivateEmail);
  }
  claims.auth_time = input.authTime;
  claims.nonce_supported = true;
  if (input.realUserStatus !== undefined) claims.real_user_status = input.realUserStatus;
  return ctx.keys.sign(claims);
}
