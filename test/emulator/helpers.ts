// Helpers for the emulator tests: plain HTTP against 127.0.0.1, client secrets, and a scripted consent page.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { signClientSecret } from '../../lib/index.js';
import type { AppleEmulator, AppleEmulatorStrategyOptions } from '../../lib/emulator/index.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

export async function request(
  url: string,
  init: { method?: string; form?: Record<string, string>; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.text) as Record<string, unknown>;
}

export function unescapeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

/** The action and hidden fields of the emulator's auto-submitting form_post page. */
export function autoSubmitted(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]*)" id="apple-response">/.exec(html);
  if (!action) throw new Error(`not an auto-submit page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  return { action: unescapeHtml(action[1]!), fields };
}

/** The error code and description shown on the emulator's error page. */
export function errorShown(html: string): { error: string; description: string } {
  const error = /<strong id="error-code">([^<]*)<\/strong>/.exec(html);
  const description = /<span id="error-description">([^<]*)<\/span>/.exec(html);
  if (!error || !description) throw new Error(`not an error page:\n${html}`);
  return { error: unescapeHtml(error[1]!), description: unescapeHtml(description[1]!) };
}

export function requestID(html: string): string {
  const m = /<input type="hidden" name="request_id" value="([^"]+)">/.exec(html);
  if (!m) throw new Error(`no consent form:\n${html}`);
  return m[1]!;
}

export function authorizeURL(apple: AppleEmulator, params: Record<string, string>): string {
  const query = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `${apple.url}/auth/authorize?${query}`;
}

/** Opens the consent page, then presses Continue (or Cancel) with the given choices. */
export async function consent(
  apple: AppleEmulator,
  params: Record<string, string>,
  choices: Record<string, string> = {},
): Promise<Reply> {
  const page = await request(authorizeURL(apple, params));
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}:\n${page.text}`);
  return request(`${apple.url}/auth/authorize/consent`, { form: { request_id: requestID(page.text), action: 'continue', ...choices } });
}

/** A web sign-in with name and email scopes through form_post; returns what Apple posts to the callback. */
export async function signIn(
  apple: AppleEmulator,
  options: AppleEmulatorStrategyOptions,
  extra: Record<string, string> = {},
  choices: Record<string, string> = {},
): Promise<Record<string, string>> {
  const reply = await consent(
    apple,
    { client_id: options.clientID, redirect_uri: options.callbackURL, response_type: 'code', response_mode: 'form_post', scope: 'name email', state: 'st-1', ...extra },
    choices,
  );
  if (reply.status !== 200) throw new Error(`consent answered ${reply.status}:\n${reply.text}`);
  return autoSubmitted(reply.text).fields;
}

export function clientKey(options: { privateKey: string }): KeyObject {
  return createPrivateKey(options.privateKey);
}

/** A good client secret for these options, from the package's own signer. */
export function secretFor(options: AppleEmulatorStrategyOptions, overrides: { clientID?: string; keyID?: string; now?: number; key?: KeyObject } = {}): string {
  return signClientSecret(overrides.key ?? clientKey(options), {
    teamID: options.teamID,
    keyID: overrides.keyID ?? options.keyID,
    clientID: overrides.clientID ?? options.clientID,
    now: overrides.now,
  });
}

/** A hand-made ES256 JWT, for secrets the package's signer would never produce. */
export function handMadeSecret(key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>, encoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: encoding }).toString('base64url')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** OpenID's at_hash / c_hash, computed independently of the emulator. */
export function halfHash(value: string): string {
  return createHash('sha256').update(value).digest().subarray(0, 16).toString('base64url');
}

export function decodePayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export function decodeHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
}

export const CALLBACK = 'https://app.example.com/auth/apple/callback';
