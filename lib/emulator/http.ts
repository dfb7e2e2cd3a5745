import type { IncomingMessage, ServerResponse } from 'node:http';

/** Apple's endpoints take small form bodies; anything larger is refused without being read. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A slow client gets this long to send its body. */
const BODY_TIMEOUT_MS = 10_000;

/** Why a body could not be read. */
export type BodyFailure = 'too_large' | 'timeout' | 'aborted';

/** The body as text, or why there is none. Stops reading past {@link MAX_BODY_BYTES}. */
export function readBody(req: IncomingMessage): Promise<{ ok: true; text: string } | { ok: false; reason: BodyFailure }> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.pause();
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: { ok: true; text: string } | { ok: false; reason: BodyFailure }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      // Stop reading: the caller answers with Connection: close, which ends the socket.
      if (!result.ok) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return finish({ ok: false, reason: 'too_large' });
      chunks.push(chunk);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), BODY_TIMEOUT_MS);
    timer.unref();
    req.on('data', onData);
    req.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    // 'close' before 'end' means the client went away mid-body.
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

/** The media type of a request, lower-cased, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A parsed form body: each name with every value it was given (so duplicates can be refused). */
export type FormFields = Map<string, string[]>;

export function parseForm(text: string): FormFields {
  const fields: FormFields = new Map();
  for (const [name, value] of new URLSearchParams(text)) {
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  }
  return fields;
}

/** The single value of a field; `undefined` when absent. */
export function field(fields: FormFields, name: string): string | undefined {
  return fields.get(name)?.[0];
}

/** The names given more than once. */
export function duplicated(fields: FormFields): string[] {
  return [...fields].filter(([, values]) => values.length > 1).map(([name]) => name);
}

function noStore(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  noStore(res);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** An OAuth error as Apple's token and revoke endpoints answer it: `400 {"error", "error_description"}`. */
export function sendOAuthError(res: ServerResponse, error: string, description?: string, status = 400): void {
  sendJson(res, status, description === undefined ? { error } : { error, error_description: description });
}

/**
 * An HTML page. Pages carry no external assets; the only script allowed is the one whose nonce is
 * given (the auto-submit form), so an escaped value that slipped through still could not run.
 */
export function sendHtml(res: ServerResponse, status: number, html: string, scriptNonce?: string): void {
  noStore(res);
  const script = scriptNonce ? `script-src 'nonce-${scriptNonce}'` : "script-src 'none'";
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; ${script}; base-uri 'none'; frame-ancestors 'none'`);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.writeHead(status, { 'Content-Type': 'text/html;charset=UTF-8', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

export function sendRedirect(res: ServerResponse, location: string): void {
  noStore(res);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.writeHead(302, { Location: location, 'Content-Length': 0 });
  res.end();
}

export function sendEmpty(res: ServerResponse, status: number): void {
  noStore(res);
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}
