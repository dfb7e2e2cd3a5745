/** The name a user shared on first consent, as this package keeps it. */
export interface AppleUserName {
  givenName?: string;
  familyName?: string;
}

/** Apple's `user` field is a few hundred bytes; anything larger is not Apple's and is ignored. */
const MAX_USER_FIELD_BYTES = 4096;
const MAX_NAME_LENGTH = 100;

/**
 * Cleans one name part: strings only, control characters removed, trimmed, capped.
 * Apple does not sign the name, so it is display data only; escape it when rendering it as HTML.
 */
function cleanName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  if (cleaned.length === 0) return undefined;
  return Array.from(cleaned).slice(0, MAX_NAME_LENGTH).join('');
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Reads the name from Apple's first-login `user` field: a JSON string (form_post) or an already
 * parsed object (`{ name: { firstName, lastName }, email }`), or a native app's
 * `{ givenName, familyName }`. Only the name is taken: the email in it is unsigned, and the signed
 * id_token's email is the one that counts. Malformed, oversized or oddly shaped input yields
 * `undefined`, never an exception.
 */
export function parseUserName(raw: unknown): AppleUserName | undefined {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length === 0 || Buffer.byteLength(raw) > MAX_USER_FIELD_BYTES) return undefined;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const user = asObject(value);
  if (!user) return undefined;
  const name = asObject(user.name);
  const givenName = cleanName(name ? name.firstName : user.givenName);
  const familyName = cleanName(name ? name.lastName : user.familyName);
  if (givenName === undefined && familyName === undefined) return undefined;
  const result: AppleUserName = {};
  if (givenName !== undefined) result.givenName = givenName;
  if (familyName !== undefined) result.familyName = familyName;
  return result;
}

/** Whether a `user` field was sent at all: Apple sends one only on a user's first consent. */
export function hasUserField(raw: unknown): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw === 'string') return raw.trim().length > 0;
  return typeof raw === 'object';
}
