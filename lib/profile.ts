import type { AppleIdTokenClaims } from './id-token.js';
import type { AppleUserName } from './user-field.js';

/** Apple's `real_user_status`: 0 unsupported, 1 unknown, 2 likely real. Native first sign-ins only. */
export type AppleRealUserStatus = 0 | 1 | 2;

/** The profile handed to your `verify` callback, built from the verified id_token. */
export interface AppleProfile {
  /** Always `'apple'`. */
  provider: 'apple';
  /** Apple's stable user ID (`sub`): the key to store users by. Never key users by email. */
  id: string;
  /** The email from the signed id_token; a relay address when the user hid theirs. */
  email?: string;
  /** Whether Apple verified the email; `undefined` when Apple did not say. */
  emailVerified?: boolean;
  /** Whether the email is a private relay address; `undefined` when Apple did not say. */
  isPrivateEmail?: boolean;
  /** Passport's usual list: one entry when there is an email, empty otherwise. */
  emails: Array<{ value: string; verified?: boolean }>;
  /** The name, present only on a first consent (Apple sends it once and never signs it). */
  name?: AppleUserName;
  /** The name as one string, present with `name`. */
  displayName?: string;
  /** True when Apple sent its first-consent `user` field: save the name now, it will not come again. */
  isFirstLogin: boolean;
  /** Native first sign-ins only: 0 unsupported, 1 unknown, 2 likely a real person. */
  realUserStatus?: AppleRealUserStatus;
  /** During an app transfer: the user's ID under the previous team. */
  transferSub?: string;
  /** The verified claims of the id_token. */
  _json: AppleIdTokenClaims;
  /** The id_token itself (a JWT). */
  _raw: string;
}

/** Apple sends these booleans as `true`/`false` or as the strings `"true"`/`"false"`. */
export function appleBoolean(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** Builds the profile from verified claims and the first-login name, if any. */
export function buildProfile(
  claims: AppleIdTokenClaims,
  idToken: string,
  name: AppleUserName | undefined,
  isFirstLogin: boolean,
): AppleProfile {
  const email = typeof claims.email === 'string' && claims.email.length > 0 ? claims.email : undefined;
  const emailVerified = appleBoolean(claims.email_verified);
  const profile: AppleProfile = {
    provider: 'apple',
    id: claims.sub,
    emails: [],
    isFirstLogin,
    _json: claims,
    _raw: idToken,
  };
  if (email !== undefined) {
    profile.email = email;
    profile.emails = [emailVerified === undefined ? { value: email } : { value: email, verified: emailVerified }];
  }
  if (emailVerified !== undefined) profile.emailVerified = emailVerified;
  const isPrivateEmail = appleBoolean(claims.is_private_email);
  if (isPrivateEmail !== undefined) profile.isPrivateEmail = isPrivateEmail;
  if (name) {
    profile.name = name;
    profile.displayName = [name.givenName, name.familyName].filter(Boolean).join(' ');
  }
  const status = claims.real_user_status;
  if (status === 0 || status === 1 || status === 2) profile.realUserStatus = status;
  if (typeof claims.transfer_sub === 'string' && claims.transfer_sub.length > 0) profile.transferSub = claims.transfer_sub;
  return profile;
}
