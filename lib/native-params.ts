import type { IncomingMessage } from 'node:http';
import { AppleCallbackError } from './errors.js';
import { readBodyObject, RequestBodyError } from './request-body.js';

/** A native sign-in request is an identity token, a code, a name and a nonce: a few kilobytes. */
export const MAX_NATIVE_BODY_BYTES = 64 * 1024;

/** Authorization codes are a few dozen characters; anything this long is not one. */
const MAX_CODE_LENGTH = 1024;
/** Raw nonces are a few dozen characters. */
const MAX_NONCE_LENGTH = 1024;

/** What a native app posts to its backend after Sign in with Apple, read from the request body. */
export interface NativeSignInParams {
  /** `identityToken` (or `id_token`): the JWT from `ASAuthorizationAppleIDCredential.identityToken`. */
  identityToken: string;
  /** `authorizationCode` (or `code`): the single-use, 5-minute code from the same credential. */
  authorizationCode?: string;
  /** `user`: the name the user shared on first consent, as a JSON string or an object. Unsigned. */
  user?: unknown;
  /** `nonce`: the raw nonce the app generated (the app gave Apple its SHA-256). */
  nonce?: string;
}

/** The error a status goes with: 400 for malformed input, 413 for an oversized body, 408 for a slow one. */
export type NativeParamsFailure = { error: AppleCallbackError; status: number };

function invalid(message: string, status = 400, cause?: unknown): NativeParamsFailure {
  return { error: new AppleCallbackError('ERR_NATIVE_BODY_INVALID', message, { cause }), status };
}

/** One of two aliased fields as a string; both given with different values is an error. */
function aliased(body: Record<string, unknown>, names: [string, string], max: number): string | undefined | NativeParamsFailure {
  const [a, b] = names;
  const values: string[] = [];
  for (const name of names) {
    const value = body[name];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return invalid(`"${name}" must be a string.`);
    if (value.length > max) return invalid(`"${name}" is ${value.length} characters long, far more than any real one.`);
    values.push(value);
  }
  if (values.length === 2 && values[0] !== values[1]) return invalid(`"${a}" and "${b}" are the same field and differ: send one.`);
  return values[0];
}

function isFailure(value: unknown): value is NativeParamsFailure {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/**
 * Reads a native sign-in request: JSON or a urlencoded form, parsed already or not. The query
 * string is never read, since tokens in URLs end up in access logs. Returns the parameters, or
 * the failure to report (never throws for bad input).
 */
export async function readNativeParams(req: IncomingMessage): Promise<NativeSignInParams | NativeParamsFailure> {
  let body: Record<string, unknown>;
  try {
    body = await readBodyObject(req, { limit: MAX_NATIVE_BODY_BYTES });
  } catch (err) {
    if (err instanceof RequestBodyError) {
      return invalid(`The sign-in request body is unusable: ${err.message}. Post JSON such as {"identityToken": "...", "nonce": "..."}.`, err.status, err);
    }
    throw err;
  }
  // The identity token's own size limit is enforced by the verifier, with its own code.
  const identityToken = aliased(body, ['identityToken', 'id_token'], Number.MAX_SAFE_INTEGER);
  if (isFailure(identityToken)) return identityToken;
  if (identityToken === undefined) {
    return {
      error: new AppleCallbackError(
        'ERR_NATIVE_TOKEN_MISSING',
        'The sign-in request carries no identity token: post the credential\'s identityToken (as a UTF-8 string) in "identityToken".',
      ),
      status: 400,
    };
  }
  const authorizationCode = aliased(body, ['authorizationCode', 'code'], MAX_CODE_LENGTH);
  if (isFailure(authorizationCode)) return authorizationCode;
  const nonce = body.nonce;
  if (nonce !== undefined && nonce !== null && nonce !== '' && typeof nonce !== 'string') return invalid('"nonce" must be a string: the raw nonce.');
  if (typeof nonce === 'string' && nonce.length > MAX_NONCE_LENGTH) return invalid(`"nonce" is ${nonce.length} characters long, far more than any real one.`);
  const params: NativeSignInParams = { identityToken };
  if (authorizationCode !== undefined) params.authorizationCode = authorizationCode;
  if (body.user !== undefined && body.user !== null) params.user = body.user;
  if (typeof nonce === 'string' && nonce.length > 0) params.nonce = nonce;
  return params;
}

/** Whether {@link readNativeParams} reported a failure. */
export function isNativeParamsFailure(value: NativeSignInParams | NativeParamsFailure): value is NativeParamsFailure {
  return isFailure(value);
}
