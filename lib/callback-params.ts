import type { IncomingMessage } from 'node:http';
import { AppleCallbackError, type AppleErrorCode } from './errors.js';
import { readBodyObject, RequestBodyError, type RequestBodyProblem } from './request-body.js';

/** Apple's callback body is a few kilobytes at most (code, state, id_token, user). */
export const MAX_CALLBACK_BODY_BYTES = 64 * 1024;

/** A flat map of the callback's parameters: values are strings, or objects a body parser produced. */
export type CallbackParams = Record<string, unknown>;

type RequestLike = IncomingMessage & { body?: unknown; query?: unknown };

const BODY_ERRORS: Record<RequestBodyProblem, AppleErrorCode> = {
  'too-large': 'ERR_CALLBACK_BODY_TOO_LARGE',
  timeout: 'ERR_CALLBACK_BODY_TIMEOUT',
  unreadable: 'ERR_CALLBACK_BODY_INVALID',
  malformed: 'ERR_CALLBACK_BODY_INVALID',
};

function queryOf(req: RequestLike): CallbackParams {
  if (req.query && typeof req.query === 'object') return { ...(req.query as CallbackParams) };
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const result: CallbackParams = {};
  if (q >= 0) for (const [key, value] of new URLSearchParams(url.slice(q + 1))) if (!(key in result)) result[key] = value;
  return result;
}

/**
 * Collects the callback's parameters from the query and the body, without touching `req.query`.
 * Works whatever body parser ran, or none: a parsed `req.body` is used as is, an unread body is
 * read here, size-capped and with a deadline (the same reader as the native endpoint's). Body
 * values win over query values, since Apple posts the body.
 */
export async function callbackParams(
  req: IncomingMessage,
  options: { limit?: number; timeout?: number } = {},
): Promise<CallbackParams> {
  const query = queryOf(req as RequestLike);
  if (req.method !== 'POST') return query;
  try {
    const body = await readBodyObject(req, { limit: options.limit ?? MAX_CALLBACK_BODY_BYTES, timeout: options.timeout });
    return { ...query, ...body };
  } catch (err) {
    if (err instanceof RequestBodyError) {
      throw new AppleCallbackError(BODY_ERRORS[err.problem], `The callback body could not be used: ${err.message}.`, { cause: err });
    }
    throw err;
  }
}

/** The parameter as a single string, or undefined (arrays and objects from extended parsers are not). */
export function param(params: CallbackParams, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}
