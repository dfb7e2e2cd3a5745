// Starts the example: with no configuration against the bundled Apple emulator, with APPLE_* set
// against the real Apple.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AppleStrategyOptions } from 'passport-apple-signin';
import { createAppleEmulator, type AppleEmulator, type AppleEmulatorOptions } from 'passport-apple-signin/emulator';
import { createExampleApp } from './app.js';
import { Users } from './db.js';

export interface RunningExample {
  /** Where to open the app: http://localhost:PORT (the emulator is on 127.0.0.1, another site). */
  url: string;
  apple: AppleEmulator | undefined;
  users: Users;
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  /** SQLite file (default example/data/users.db; ':memory:' for tests). */
  database?: string;
  env?: NodeJS.ProcessEnv;
  emulator?: AppleEmulatorOptions;
  log?: (line: string) => void;
}

function realAppleOptions(env: NodeJS.ProcessEnv): Omit<AppleStrategyOptions, 'passReqToCallback'> | undefined {
  const keys = ['APPLE_CLIENT_ID', 'APPLE_TEAM_ID', 'APPLE_KEY_ID', 'APPLE_CALLBACK_URL'];
  if (!keys.every((k) => env[k])) return undefined;
  if (!env.APPLE_PRIVATE_KEY && !env.APPLE_PRIVATE_KEY_FILE) return undefined;
  return {
    clientID: env.APPLE_CLIENT_ID!,
    teamID: env.APPLE_TEAM_ID!,
    keyID: env.APPLE_KEY_ID!,
    callbackURL: env.APPLE_CALLBACK_URL!,
    ...(env.APPLE_PRIVATE_KEY ? { privateKeyString: env.APPLE_PRIVATE_KEY } : { privateKeyLocation: env.APPLE_PRIVATE_KEY_FILE! }),
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startExample(options: StartOptions = {}): Promise<RunningExample> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const port = options.port ?? Number(env.PORT ?? 3000);
  const database = options.database ?? join(__dirname, 'data', 'users.db');
  if (database !== ':memory:') mkdirSync(join(database, '..'), { recursive: true });
  const users = new Users(database);
  const server = createServer();
  const appPort = await listen(server, port);
  const url = `http://localhost:${appPort}`;
  const callbackURL = `${url}/auth/apple/callback`;

  let apple: AppleEmulator | undefined;
  let strategyOptions = realAppleOptions(env);
  let mode: string;
  if (strategyOptions) {
    mode = `Talking to the real Apple as ${strategyOptions.clientID}.`;
  } else {
    apple = await createAppleEmulator({ port: Number(env.APPLE_EMULATOR_PORT ?? 0), notificationURL: `${url}/apple/notifications`, ...options.emulator });
    strategyOptions = apple.strategyOptions({ callbackURL });
    mode = `Using the local Apple emulator at ${apple.url} (set APPLE_CLIENT_ID, APPLE_TEAM_ID, APPLE_KEY_ID, APPLE_PRIVATE_KEY_FILE and APPLE_CALLBACK_URL for the real Apple).`;
  }
  const notificationClientIDs = env.APPLE_NOTIFICATION_CLIENT_IDS?.split(',').map((id) => id.trim()).filter(Boolean);
  const { app } = createExampleApp({ strategyOptions, users, mode, notificationClientIDs });
  server.on('request', app);
  log(mode);
  log(`Example app: open ${url} and sign in with Apple.`);
  return {
    url,
    apple,
    users,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apple?.close();
      users.close();
    },
  };
}

if (require.main === module) {
  startExample().then(
    (running) => {
      const stop = (): void => {
        running.close().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: Error) => {
      console.error(`The example could not start: ${err.message}`);
      process.exit(1);
    },
  );
}
