import type { IncomingMessage } from 'node:http';

/** Why a request body could not be turned into an object. */
export type RequestBodyProblem = 'too-large' | 'timeout' | 'unreadable' | 'malformed';

/**
 * A body that could not be read or parsed. Internal: each endpoint turns it into its own error
 * code (`ERR_NATIVE_BODY_INVALID`, `ERR_NOTIFICATION_INVALID`).
 */
export class RequestBodyError extends Error {
  readonly problem: RequestBodyProblem;
  /** The HTTP status that fits: 413 for too large, 408 for too slow, 400 otherwise. */
  readonly status: number;

  constructor(problem: RequestBodyProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestBodyError';
    this.problem = problem;
    this.status = problem === 'too-large' ? 413 : problem === 'timeout' ? 408 : 400;
  }
}

/** How {@link readBodyObject} reads. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** Milliseconds the client may take to send the body (default 10000). */
  timeout?: number;
  /** Whether `application/x-www-form-urlencoded` is accepted besides JSON (default true). */
  allowForm?: boolean;
}

type RequestLike = IncomingMessage & { body?: unknown; _body?: unknown };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether the body stream can still be read here (no parser consumed it). */
function streamUnread(req: RequestLike): boolean {
  // body-parser 1.x marks a body it read with `_body`; a stream that ended was read by someone else.
  return typeof req.on === 'function' && req._body !== true && !req.readableEnded && req.readable !== false;
}

function parseText(text: string, type: string, allowForm: boolean): Record<string, unknown> {
  if (text.trim().length === 0) return {};
  const isJson = type === 'application/json' || type.endsWith('+json');
  const isForm = type === 'application/x-www-form-urlencoded';
  // Without any content type, a leading "{" says JSON. text/plain is not sniffed: a cross-site page
  // can post text/plain without a CORS preflight, so accepting it would invite login CSRF.
  const asJson = isJson || (type === '' && text.trimStart().startsWith('{'));
  if (asJson) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new RequestBodyError('malformed', 'the body is not valid JSON', { cause });
    }
    if (!isPlainObject(value)) throw new RequestBodyError('malformed', 'the JSON body is not an object');
    return value;
  }
  if (isForm || type === '') {
    if (!allowForm) throw new RequestBodyError('malformed', 'the body must be JSON');
    const result: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(text)) if (!(key in result)) result[key] = value;
    return result;
  }
  throw new RequestBodyError('malformed', `the body's content type "${type}" is neither JSON${allowForm ? ' nor a urlencoded form' : ''}`);
}

/** Reads the raw body with a size cap and a deadline, so a slow or endless client cannot hang a request. */
export function readRawBody(req: IncomingMessage, limit: number, timeout = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      reject(new RequestBodyError('too-large', `the body is ${declared} bytes, more than the ${limit} allowed`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // Drain the rest so the connection can answer; the data is discarded.
        req.resume();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks));
      }
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) return finish(new RequestBodyError('too-large', `the body exceeds ${limit} bytes`));
      chunks.push(buffer);
    };
    const onEnd = (): void => finish(null);
    const onError = (cause: Error): void => finish(new RequestBodyError('unreadable', `the body could not be read (${cause.message})`, { cause }));
    const onClose = (): void => {
      if (!req.readableEnded) finish(new RequestBodyError('unreadable', 'the client closed the connection before sending the whole body'));
    };
    const timer = setTimeout(() => finish(new RequestBodyError('timeout', `the body did not arrive within ${timeout} ms`)), timeout);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * The request body as an object, whatever ran before: a parsed `req.body` (express.json,
 * express.urlencoded) is used as is; a Buffer or string body (express.raw, express.text) is parsed
 * by its content type; an unread stream is read here, size-capped and with a deadline. JSON must
 * be an object. Throws {@link RequestBodyError}.
 */
export async function readBodyObject(req: IncomingMessage, options: ReadBodyOptions): Promise<Record<string, unknown>> {
  const r = req as RequestLike;
  const allowForm = options.allowForm !== false;
  const type = mediaType(req);
  const body = r.body;
  if (isPlainObject(body)) {
    // body-parser 1.x leaves `{}` on requests of a type it does not parse; the stream is still unread then.
    if (Object.keys(body).length > 0 || !streamUnread(r)) return body;
  } else if (Buffer.isBuffer(body) || typeof body === 'string') {
    const size = Buffer.byteLength(body);
    if (size > options.limit) throw new RequestBodyError('too-large', `the body is ${size} bytes, more than the ${options.limit} allowed`);
    return parseText(body.toString(), type, allowForm);
  } else if (body !== undefined && body !== null) {
    throw new RequestBodyError('malformed', 'the parsed body is not an object');
  }
  if (!streamUnread(r)) return {};
  const raw = await readRawBody(req, options.limit, options.timeout);
  return parseText(raw.toString('utf8'), type, allowForm);
}
