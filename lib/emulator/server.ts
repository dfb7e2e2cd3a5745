import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAuthorize, handleConsent } from './authorize.js';
import type { EmulatorContext } from './context.js';
import { openidConfiguration, PATHS } from './discovery.js';
import { mediaType, parseForm, readBody, sendHtml, sendJson, sendOAuthError, type FormFields } from './http.js';
import { errorPage } from './pages.js';
import { handleRevoke } from './revoke-endpoint.js';
import { handleToken } from './token-endpoint.js';

type Handler = (ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** How a form endpoint reports a body it cannot use: as JSON (OAuth endpoints) or as a page. */
type Answer = 'json' | 'html';

function bodyError(res: ServerResponse, answer: Answer, status: number, description: string): void {
  // The rest of the body is not read, so the connection cannot be reused.
  res.setHeader('Connection', 'close');
  if (answer === 'json') sendOAuthError(res, 'invalid_request', description, status);
  else sendHtml(res, status, errorPage('invalid_request', description));
}

/** Reads an application/x-www-form-urlencoded body, answering the request itself when it cannot. */
async function readForm(req: IncomingMessage, res: ServerResponse, answer: Answer): Promise<FormFields | undefined> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    // Apple wants form bodies; JSON is the classic mistake (TN3107: invalid content type).
    bodyError(res, answer, 400, 'The body must be application/x-www-form-urlencoded.');
    return undefined;
  }
  const body = await readBody(req);
  if (body.ok) return parseForm(body.text);
  if (body.reason === 'too_large') bodyError(res, answer, 413, 'The body is larger than 64 KB.');
  else if (body.reason === 'timeout') bodyError(res, answer, 408, 'The body took too long to arrive.');
  else req.destroy();
  return undefined;
}

function formRoute(answer: Answer, handle: (ctx: EmulatorContext, fields: FormFields, res: ServerResponse) => void): Handler {
  return async (ctx, req, res) => {
    const fields = await readForm(req, res, answer);
    if (fields) handle(ctx, fields, res);
  };
}

const ROUTES: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
  [PATHS.authorize]: { GET: (ctx, _req, res, url) => handleAuthorize(ctx, url, res) },
  [PATHS.consent]: { POST: formRoute('html', handleConsent) },
  [PATHS.token]: {
    POST: formRoute('json', (ctx, fields, res) => {
      ctx.stats.tokenRequests += 1;
      handleToken(ctx, fields, res);
    }),
  },
  [PATHS.revoke]: {
    POST: formRoute('json', (ctx, fields, res) => {
      ctx.stats.revokeRequests += 1;
      handleRevoke(ctx, fields, res);
    }),
  },
  [PATHS.keys]: {
    GET: (ctx, _req, res) => {
      ctx.stats.jwksFetches += 1;
      sendJson(res, 200, ctx.keys.jwks(), { 'Cache-Control': 'public, max-age=0' });
    },
  },
  [PATHS.discovery]: { GET: (ctx, _req, res) => sendJson(res, 200, openidConfiguration(ctx)) },
};

async function dispatch(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return sendJson(res, 400, { error: 'invalid_request' });
  }
  const route = Object.hasOwn(ROUTES, url.pathname) ? ROUTES[url.pathname] : undefined;
  if (!route) return sendJson(res, 404, { error: 'not_found' });
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const handler = method === 'GET' || method === 'POST' ? route[method] : undefined;
  if (!handler) {
    const allow = Object.keys(route).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    res.setHeader('Connection', 'close');
    return sendJson(res, 405, { error: 'method_not_allowed' }, { Allow: allow.join(', ') });
  }
  await handler(ctx, req, res, url);
}

/** The HTTP server of one emulator. A failing request answers 500; it never takes the process down. */
export function createEmulatorServer(ctx: EmulatorContext): Server {
  const server = createServer((req, res) => {
    dispatch(ctx, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
