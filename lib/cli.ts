#!/usr/bin/env node
/**
 * The `passport-apple-signin` command. `passport-apple-signin emulator` runs the local Apple ID
 * emulator and prints the strategy options to paste into `new AppleStrategy(...)`.
 *
 * @module
 */
import { createAppleEmulator, DEFAULT_CLIENT_ID } from './emulator/index.js';
import type { AppleEmulatorOptions } from './emulator/index.js';

/** Where the command writes, and how it learns to stop. Tests pass their own. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Resolves when a running emulator should stop (default: on SIGINT or SIGTERM). */
  waitForStop?: () => Promise<void>;
}

export const USAGE = `Usage: passport-apple-signin <command> [options]

Commands:
  emulator          Run a local Sign in with Apple server on 127.0.0.1 until Ctrl+C
  help              Show this help

Options of emulator:
  --port <n>               Port on 127.0.0.1 (default 4400; 0 = any free port)
  --client-id <id>         Services ID to register (default ${DEFAULT_CLIENT_ID})
  --callback-url <url>     Return URL to allow (default http://localhost:3000/auth/apple/callback)
  --booleans <form>        How email_verified/is_private_email are sent: string (default) or boolean
  --token-lifetime <s>     id_token lifetime in seconds (default 86400)
  --notification-url <url> Default target of server-to-server notifications

Example:
  npx passport-apple-signin emulator --port 4400 --callback-url http://localhost:3000/auth/apple/callback
`;

const DEFAULT_PORT = 4400;
const DEFAULT_CALLBACK_URL = 'http://localhost:3000/auth/apple/callback';
const EMULATOR_FLAGS = ['port', 'client-id', 'callback-url', 'booleans', 'token-lifetime', 'notification-url'];

/** Exit codes: 0 done, 1 the emulator could not start, 2 bad usage. */
type ExitCode = 0 | 1 | 2;

class UsageError extends Error {}

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!EMULATOR_FLAGS.includes(name)) throw new UsageError(`unknown option --${name}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      i += 1;
    }
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

function wholeNumber(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function emulatorOptions(flags: Map<string, string>): AppleEmulatorOptions {
  const booleans = flags.get('booleans');
  if (booleans !== undefined && booleans !== 'string' && booleans !== 'boolean') throw new UsageError('--booleans must be string or boolean');
  return {
    port: wholeNumber(flags.get('port'), 'port', 0, 65535) ?? DEFAULT_PORT,
    tokenLifetime: wholeNumber(flags.get('token-lifetime'), 'token-lifetime', 1, Number.MAX_SAFE_INTEGER),
    booleans,
    notificationURL: flags.get('notification-url'),
  };
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function runEmulator(args: string[], io: CliIO): Promise<ExitCode> {
  const flags = parseFlags(args);
  const options = emulatorOptions(flags);
  const callbackURL = flags.get('callback-url') ?? DEFAULT_CALLBACK_URL;
  const clientID = flags.get('client-id') ?? DEFAULT_CLIENT_ID;
  let apple;
  try {
    apple = await createAppleEmulator(options);
  } catch (err) {
    io.stderr.write(`passport-apple-signin: the emulator could not start: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const strategyOptions = apple.strategyOptions({ clientID, callbackURL });
    // The options alone go to stdout, so they can be piped (`| jq`); the words go to stderr.
    io.stderr.write(`Apple ID emulator listening on ${apple.url}\n`);
    io.stderr.write('Strategy options (spread them into new AppleStrategy({ ...options }, verify)); the key is new at every start:\n');
    io.stdout.write(`${JSON.stringify(strategyOptions, null, 2)}\n`);
    io.stderr.write(`Test users: ${apple.users.map((u) => `${u.email} (${u.sub})`).join(', ')}\n`);
    io.stderr.write('Press Ctrl+C to stop.\n');
  } catch (err) {
    await apple.close();
    io.stderr.write(`passport-apple-signin: ${(err as Error).message}\n`);
    return 2;
  }
  await (io.waitForStop ?? waitForSignal)();
  await apple.close();
  io.stderr.write('Emulator stopped.\n');
  return 0;
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await main(['--help'], { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (command !== 'emulator') {
    io.stderr.write(`${command === undefined ? 'passport-apple-signin: no command given' : `passport-apple-signin: unknown command "${command}"`}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    return await runEmulator(rest, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`passport-apple-signin: ${err.message}\n\n${USAGE}`);
    return 2;
  }
}

// Run when executed as the bin, not when imported (the ES module build has no `module`).
if (typeof module !== 'undefined' && typeof require !== 'undefined' && require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`passport-apple-signin: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
