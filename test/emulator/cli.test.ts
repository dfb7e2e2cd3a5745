import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { main, USAGE, type CliIO } from '../../lib/cli.js';
import { json, request } from './helpers.js';

const run = promisify(execFile);

function fakeIO(): CliIO & { out: () => string; err: () => string; stop: () => void; started: Promise<void> } {
  let out = '';
  let err = '';
  let stop!: () => void;
  let started!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  return {
    stdout: {
      write(text: string) {
        out += text;
      },
    },
    stderr: {
      write(text: string) {
        err += text;
        if (err.includes('Press Ctrl+C to stop.')) started();
      },
    },
    waitForStop: () => stopped,
    out: () => out,
    err: () => err,
    stop,
    started: startedPromise,
  };
}

describe('passport-apple-signin CLI', () => {
  it('--help prints the usage and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['emulator', '--help']]) {
      const io = fakeIO();
      expect(await main(argv, io), argv.join(' ')).to.equal(0);
      expect(io.out()).to.equal(USAGE);
      expect(io.err()).to.equal('');
    }
    expect(USAGE).to.match(/^Usage: passport-apple-signin <command> \[options\]\n/);
  });

  it('an unknown command, or none, exits 2 with the usage on stderr', async () => {
    const io = fakeIO();
    expect(await main(['serve'], io)).to.equal(2);
    expect(io.err()).to.equal(`passport-apple-signin: unknown command "serve"\n\n${USAGE}`);
    expect(io.out()).to.equal('');
    const none = fakeIO();
    expect(await main([], none)).to.equal(2);
    expect(none.err()).to.equal(`passport-apple-signin: no command given\n\n${USAGE}`);
  });

  it('bad emulator options exit 2 and start nothing', async () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], '--port must be a whole number from 0 to 65535'],
      [['--port', '70000'], '--port must be a whole number from 0 to 65535'],
      [['--colour', 'red'], 'unknown option --colour'],
      [['--port'], '--port needs a value'],
      [['extra'], 'unexpected argument "extra"'],
      [['--booleans', 'yes'], '--booleans must be string or boolean'],
    ];
    for (const [args, message] of cases) {
      const io = fakeIO();
      expect(await main(['emulator', ...args], io), args.join(' ')).to.equal(2);
      expect(io.err()).to.equal(`passport-apple-signin: ${message}\n\n${USAGE}`);
      expect(io.out()).to.equal('');
    }
  });

  it('emulator prints the strategy options alone on stdout (words on stderr), serves until told to stop, then exits 0', async () => {
    const io = fakeIO();
    const exit = main(['emulator', '--port', '0', '--client-id', 'com.example.cli', '--callback-url=http://127.0.0.1:3999/cb', '--booleans', 'boolean'], io);
    await io.started;
    const url = /^Apple ID emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(io.err())?.[1];
    expect(url).to.be.a('string');
    const printed = JSON.parse(io.out()) as Record<string, string>;
    expect(Object.keys(printed)).to.deep.equal(['clientID', 'teamID', 'keyID', 'privateKey', 'callbackURL', 'authorizationURL', 'tokenURL', 'jwksURL', 'revokeURL', 'issuer']);
    expect(printed).to.include({ clientID: 'com.example.cli', callbackURL: 'http://127.0.0.1:3999/cb', tokenURL: `${url}/auth/token`, issuer: url });
    expect(printed.privateKey).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(io.err()).to.contain('Test users: maria.ruiz@example.com (');

    const page = await request(`${url}/auth/authorize?client_id=com.example.cli&redirect_uri=${encodeURIComponent('http://127.0.0.1:3999/cb')}&response_type=code`);
    expect(page.status).to.equal(200);
    expect(json(await request(`${url}/.well-known/openid-configuration`)).issuer).to.equal(url);

    io.stop();
    expect(await exit).to.equal(0);
    expect(io.err().endsWith('Emulator stopped.\n')).to.equal(true);
    expect(await fetch(`${url}/auth/keys`).then(() => 'answered', () => 'closed')).to.equal('closed');
  });

  it('exits 1 when the port is taken', async () => {
    const first = fakeIO();
    const running = main(['emulator', '--port', '0'], first);
    await first.started;
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(first.err())![1]!;
    const second = fakeIO();
    expect(await main(['emulator', '--port', port], second)).to.equal(1);
    expect(second.err()).to.match(/^passport-apple-signin: the emulator could not start: .*EADDRINUSE/);
    first.stop();
    expect(await running).to.equal(0);
  });

  it('runs as a script: node --import tsx lib/cli.ts --help', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'lib/cli.ts', '--help'], { timeout: 30_000 });
    expect(stdout).to.equal(USAGE);
    expect(stderr).to.equal('');
    const failed = await run(process.execPath, ['--import', 'tsx', 'lib/cli.ts', 'nope'], { timeout: 30_000 }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.equal(`passport-apple-signin: unknown command "nope"\n\n${USAGE}`);
  });
});
