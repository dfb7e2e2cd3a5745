/**
 * A local Sign in with Apple server for tests and development: Apple's authorize page (as a small
 * consent page with test users), token, revoke, keys and discovery endpoints, native identity
 * tokens and server-to-server notifications. It listens on 127.0.0.1 only.
 *
 * @example
 * ```ts
 * import { createAppleEmulator } from 'passport-apple-signin/emulator';
 * const apple = await createAppleEmulator();
 * passport.use(new AppleStrategy(apple.strategyOptions({ callbackURL: 'http://127.0.0.1:3000/auth/apple/callback' }), verify));
 * // ... drive a browser through apple.url's consent page, then:
 * await apple.close();
 * ```
 * @module
 */
import type { AddressInfo } from 'node:net';
import { AppleConfigError } from '../index.js';
import { describeClient } from './clients.js';
import { createContext, type EmulatorContext } from './context.js';
import { PATHS } from './discovery.js';
import { issueIdentityToken } from './native.js';
import { sendNotification, signNotification } from './notifications.js';
import { createEmulatorServer } from './server.js';
import type { AppleEmulator, AppleEmulatorOptions, AppleEmulatorStrategyOptions } from './types.js';
import { relayEmail, resolveUsers } from './users.js';

export type {
  AppleEmulator,
  AppleEmulatorClient,
  AppleEmulatorClientRegistration,
  AppleEmulatorNotification,
  AppleEmulatorNotificationType,
  AppleEmulatorOptions,
  AppleEmulatorResolvedUser,
  AppleEmulatorRevocation,
  AppleEmulatorStats,
  AppleEmulatorStrategyOptions,
  AppleEmulatorUser,
  IssuedIdentityToken,
  IssueIdentityTokenOptions,
} from './types.js';
export { EMULATOR_KEY_ID, EMULATOR_TEAM_ID } from './clients.js';
export { RELAY_DOMAIN } from './users.js';

/** The Services ID {@link AppleEmulator.strategyOptions} registers when given none. */
export const DEFAULT_CLIENT_ID = 'com.example.web';

function settings(options: AppleEmulatorOptions): Parameters<typeof createContext>[0] & { port: number } {
  const invalid = (message: string): never => {
    throw new AppleConfigError('ERR_CONFIG_INVALID', message);
  };
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) invalid('port must be a whole number from 0 (any free port) to 65535.');
  const tokenLifetime = options.tokenLifetime ?? 86400;
  if (!Number.isInteger(tokenLifetime) || tokenLifetime < 1) invalid('tokenLifetime must be a positive whole number of seconds.');
  const booleans = options.booleans ?? 'string';
  if (booleans !== 'string' && booleans !== 'boolean') invalid('booleans must be "string" or "boolean".');
  if (options.now !== undefined && typeof options.now !== 'function') invalid('now must be a function returning milliseconds since the epoch.');
  if (options.notificationURL !== undefined && (typeof options.notificationURL !== 'string' || !URL.canParse(options.notificationURL))) {
    invalid('notificationURL must be an absolute URL.');
  }
  const clock = options.now;
  return {
    port,
    tokenLifetime,
    booleans,
    now: clock ? () => clock() : () => Date.now(),
    notificationURL: options.notificationURL,
    users: resolveUsers(options.users),
  };
}

/**
 * Starts an emulator on 127.0.0.1 and resolves once it listens.
 *
 * @example
 * ```ts
 * const apple = await createAppleEmulator({ booleans: 'boolean', users: [{ email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee' }] });
 * const { identityToken, authorizationCode } = apple.issueIdentityToken({ clientID: 'com.example.ios' });
 * ```
 */
export async function createAppleEmulator(options: AppleEmulatorOptions = {}): Promise<AppleEmulator> {
  if (!options || typeof options !== 'object') throw new AppleConfigError('ERR_CONFIG_INVALID', 'createAppleEmulator takes an options object.');
  const { port, ...rest } = settings(options);
  const ctx: EmulatorContext = createContext(rest);
  const server = createEmulatorServer(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ctx.issuer = url;
  let closing: Promise<void> | undefined;

  const emulator: AppleEmulator = {
    url,
    issuer: url,
    users: ctx.users,
    revocations: ctx.revocations,
    get stats() {
      return { ...ctx.stats };
    },
    strategyOptions(request): AppleEmulatorStrategyOptions {
      const clientID = request?.clientID ?? DEFAULT_CLIENT_ID;
      const callbackURL = request?.callbackURL;
      if (typeof callbackURL !== 'string') throw new AppleConfigError('ERR_CONFIG_INVALID', 'strategyOptions needs { callbackURL }: the Return URL to allow.');
      const client = ctx.clients.register({ clientID, callbackURL });
      if (client.privateKeyPem === undefined) {
        throw new AppleConfigError('ERR_CONFIG_INVALID', `${clientID} was registered with your own publicKey: the emulator has no private key to hand out.`);
      }
      return {
        clientID,
        teamID: client.teamID,
        keyID: client.keyID,
        privateKey: client.privateKeyPem,
        callbackURL,
        authorizationURL: `${url}${PATHS.authorize}`,
        tokenURL: `${url}${PATHS.token}`,
        jwksURL: `${url}${PATHS.keys}`,
        revokeURL: `${url}${PATHS.revoke}`,
        issuer: url,
      };
    },
    registerClient: (registration) => describeClient(ctx.clients.register(registration)),
    issueIdentityToken: (issue) => issueIdentityToken(ctx, issue),
    signNotification: (event) => signNotification(ctx, event),
    sendNotification: (event, target) => sendNotification(ctx, event, target),
    rotateKeys: () => ctx.keys.rotate(),
    forgetConsent: (filter) => ctx.consents.forget(filter),
    relayEmail: (sub, clientID) => relayEmail(sub, clientID),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
  return emulator;
}
