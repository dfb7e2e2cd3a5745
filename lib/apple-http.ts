import { AppleTokenError, AppleUpstreamError } from './errors.js';

/** The part of a WHATWG `Response` this package reads. Global fetch and node-fetch both fit. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** The body stream (WHATWG or Node), read with a byte cap when present. */
  readonly body?: unknown;
  text(): Promise<string>;
}

/** Any WHATWG-style fetch: the global one (default), node-fetch, undici's, or a test double. */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
    redirect: 'manual' | 'error' | 'follow';
  },
) => Promise<FetchResponseLike>;

/** How this package talks HTTP to Apple. */
export interface HttpOptions {
  /** fetch implementation used for every call (default: the global `fetch`). */
  fetch?: FetchLike;
  /** Milliseconds to wait for Apple's whole answer (default 10000). */
  timeout?: number;
}

/** Largest answer read from Apple; its real answers are a few kilobytes. */
const MAX_RESPONSE_BYTES = 256 * 1024;

const USER_AGENT = 'passport-apple-signin';

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

/**
 * Performs one request with a deadline covering connection, headers and body. The timer races the
 * fetch too, so a fetch implementation that ignores `signal` still cannot hang a login.
 */
export async function request(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  options: HttpOptions,
  what: string,
): Promise<RawResponse> {
  const fetchImpl: FetchLike = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const timeout = options.timeout ?? 10000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new AppleUpstreamError(
          'ERR_APPLE_TIMEOUT',
          `Apple's ${what} did not answer within ${timeout} ms: Apple may be slow or unreachable from this server; try again (the timeout option sets the limit).`,
        ),
      );
    }, timeout);
  });
  const attempt = (async (): Promise<RawResponse> => {
    let response: FetchResponseLike;
    try {
      response = await fetchImpl(url, {
        method: init.method,
        headers: { 'user-agent': USER_AGENT, ...init.headers },
        body: init.body,
        signal: controller.signal,
        redirect: 'manual',
      });
    } catch (cause) {
      throw new AppleUpstreamError(
        'ERR_APPLE_NETWORK',
        `Could not reach Apple's ${what} at ${url} (${describe(cause)}): check this server's network and DNS.`,
        { cause },
      );
    }
    if (!response || typeof response.status !== 'number' || !response.headers || typeof response.headers.get !== 'function') {
      throw new AppleUpstreamError('ERR_APPLE_RESPONSE_INVALID', `The fetch used for Apple's ${what} resolved to something that is not a Response.`);
    }
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > MAX_RESPONSE_BYTES) {
      throw new AppleUpstreamError('ERR_APPLE_RESPONSE_INVALID', `Apple's ${what} answered ${length} bytes, far more than any real answer.`, {
        status: response.status,
      });
    }
    let text: string;
    try {
      text = await readCapped(response, controller);
    } catch (cause) {
      if (cause instanceof AppleUpstreamError) throw cause;
      throw new AppleUpstreamError('ERR_APPLE_NETWORK', `Reading the answer of Apple's ${what} failed (${describe(cause)}).`, {
        cause,
        status: response.status,
      });
    }
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text };
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    // A late rejection of the losing side must not surface as an unhandled rejection.
    attempt.catch(() => undefined);
  }
}

/**
 * Reads the body, stopping at MAX_RESPONSE_BYTES: a stream (WHATWG or Node, both async iterable)
 * is counted as it arrives, so a hostile endpoint cannot fill memory first.
 */
async function readCapped(response: FetchResponseLike, controller: AbortController): Promise<string> {
  const body = response.body as AsyncIterable<Uint8Array | string> | null | undefined;
  if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
    const text = await response.text();
    if (text.length > MAX_RESPONSE_BYTES) throw tooLarge(response.status);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buffer.length;
    if (size > MAX_RESPONSE_BYTES) {
      controller.abort();
      throw tooLarge(response.status);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(status: number): AppleUpstreamError {
  return new AppleUpstreamError('ERR_APPLE_RESPONSE_INVALID', `Apple's answer exceeded ${MAX_RESPONSE_BYTES} bytes, far more than any real answer.`, { status });
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    const code = (inner as { code?: string } | undefined)?.code;
    return code ? `${cause.message}: ${code}` : cause.message;
  }
  return String(cause);
}

/** Parses a JSON object, or returns undefined when the text is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const TOKEN_HINTS: Record<string, string> = {
  invalid_client:
    'The client secret was rejected: check teamID, keyID and clientID, that the key belongs to that team and is enabled for Sign in with Apple, and that this server\'s clock is right. A redirect_uri differing from the authorize request\'s is also reported this way.',
  invalid_grant:
    'The code or refresh token is expired (codes live 5 minutes), already used, revoked, or was issued to another client_id or redirect_uri; the user should sign in again.',
  invalid_request:
    'A parameter is missing or repeated, the client secret\'s sub differs from client_id, or the user has revoked this app.',
  unauthorized_client: 'This client is not allowed to use this grant: check the Services ID or App ID configuration in the Apple Developer portal.',
  unsupported_grant_type: 'The grant_type is not one Apple supports (authorization_code, refresh_token).',
  invalid_scope: 'The requested scope is not one Apple supports: use name and/or email.',
};

/** Posts a form to Apple's token or revoke endpoint and maps every failure to a clear error. */
export async function postForm(
  url: string,
  form: Record<string, string>,
  options: HttpOptions,
  what: string,
): Promise<{ status: number; json: Record<string, unknown> | undefined; text: string }> {
  const body = new URLSearchParams(form).toString();
  const response = await request(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    },
    options,
    what,
  );
  const json = parseJsonObject(response.text);
  if (response.status >= 200 && response.status < 300) return { status: response.status, json, text: response.text };
  if (response.status >= 400 && response.status < 500 && json && typeof json.error === 'string') {
    const oauthError = json.error.slice(0, 100);
    const description = typeof json.error_description === 'string' ? json.error_description.slice(0, 500) : undefined;
    throw new AppleTokenError(oauthError, description, response.status, TOKEN_HINTS[oauthError] ?? 'See Apple\'s TN3107 for the causes of this error.');
  }
  if (response.status >= 500) {
    throw new AppleUpstreamError(
      'ERR_APPLE_HTTP_STATUS',
      `Apple's ${what} failed with HTTP ${response.status}: an outage on Apple's side; try again later.`,
      { status: response.status },
    );
  }
  throw new AppleUpstreamError(
    'ERR_APPLE_RESPONSE_INVALID',
    `Apple's ${what} answered HTTP ${response.status} with ${json ? 'JSON without an "error"' : 'a body that is not JSON'}${
      response.contentType ? ` (${response.contentType.split(';')[0]})` : ''
    }: check that the endpoint URL is Apple's.`,
    { status: response.status },
  );
}
