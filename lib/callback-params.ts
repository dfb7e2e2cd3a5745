import type { IncomingMessage } from 'node:http';
import { AppleCallbackError } from './errors.js';

/** Apple's callback body is a few kilobytes at most (code, state, id_token, user). */
export const MAX_CALLBACK_BODY_BYTES = 64 * 1024;

/** How long a client may take to send the callback body. */
const BODY_TIMEOUT_MS = 10_000;

/** A flat map of the callback's parameters: values are strings, or objects a body parser produced. */
export type CallbackParams = Record<string, unknown>;

type RequestLike = IncomingMessage & { body?: unknown; query?: unknown; readableEnded?: boolean };

function fromSearchParams(params: URLSearchParams): CallbackParams {
  const result: CallbackParams = {};
  for (const [key, value] of params) if (!(key in result)) result[key] = value;
  return result;
}

function queryOf(req: RequestLike): CallbackParams {
  if (req.query && typeof req.query === 'object') return { ...(req.query as CallbackParams) };
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? {} : fromSearchParams(new URLSearchParams(url.slice(q + 1)));
}

function isForm(req: IncomingMessage): boolean {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** Reads and parses a urlencoded body with a size cap and a deadline. */
export function readFormBody(req: IncomingMessage, limit = MAX_CALLBACK_BODY_BYTES, timeout = BODY_TIMEOUT_MS): Promise<CallbackParams> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new AppleCallbackError('ERR_CALLBACK_BODY_TOO_LARGE', `The callback body is ${declared} bytes; Apple's are far under ${limit}.`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null, value?: CallbackParams): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) reject(err);
      else resolve(value ?? {});
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        finish(new AppleCallbackError('ERR_CALLBACK_BODY_TOO_LARGE', `The callback body exceeds ${limit} bytes; Apple's are far smaller.`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null, fromSearchParams(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    const onError = (err: Error): void =>
      finish(new AppleCallbackError('ERR_CALLBACK_BODY_INVALID', `The callback body could not be read: ${err.message}.`, { cause: err }));
    const timer = setTimeout(
      () => finish(new AppleCallbackError('ERR_CALLBACK_BODY_TIMEOUT', `The callback body did not arrive within ${timeout} ms.`)),
      timeout,
    );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Collects the callback's parameters from the query and the body, without touching `req.query`.
 * Works whether or not a body parser ran: a parsed `req.body` is used as is; otherwise an unread
 * urlencoded body is read here. Body values win over query values, since Apple posts the body.
 */
export async function callbackParams(req: IncomingMessage): Promise<CallbackParams> {
  const r = req as RequestLike;
  const query = queryOf(r);
  let body: CallbackParams = {};
  if (r.body && typeof r.body === 'object' && !Buffer.isBuffer(r.body)) {
    body = r.body as CallbackParams;
  } else if (typeof r.body === 'string' && isForm(req)) {
    body = fromSearchParams(new URLSearchParams(r.body));
  } else if (req.method === 'POST' && isForm(req) && !r.readableEnded && r.body === undefined) {
    body = await readFormBody(req);
  }
  return { ...query, ...body };
}

/** The parameter as a single string, or undefined (arrays and objects from extended parsers are not). */
export function param(params: CallbackParams, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}
