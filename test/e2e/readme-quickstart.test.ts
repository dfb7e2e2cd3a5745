// The README's quick start, pasted into a file as a new user would: it must compile under strict
// TypeScript against the built package, start, and redirect to Apple with the right parameters.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const out = join(root, 'test-output', 'quickstart');

function quickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README has no ts block under "## Quick start"');
  return match[1]!;
}

describe('README quick start', function () {
  this.timeout(120_000);
  let child: ChildProcess | undefined;

  before(() => {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'app.ts'), quickStart());
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'] }, files: ['app.ts'] }),
    );
  });

  after(() => {
    child?.kill();
  });

  it('compiles under strict TypeScript', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', join(out, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
    } catch (err) {
      throw new Error(`quick start does not compile:\n${(err as { stdout?: string }).stdout}`);
    }
  });

  it('starts and redirects to Apple with scope=name%20email, form_post, state and nonce', async () => {
    const keyFile = join(out, 'AuthKey_KEY1234567.p8');
    writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    child = spawn(process.execPath, ['--import', 'tsx', join(out, 'app.ts')], {
      cwd: root,
      env: {
        ...process.env,
        APPLE_CLIENT_ID: 'com.example.web',
        APPLE_TEAM_ID: 'TEAM123456',
        APPLE_KEY_ID: 'KEY1234567',
        APPLE_PRIVATE_KEY_FILE: keyFile,
        APPLE_CALLBACK_URL: 'https://app.example.com/auth/apple/callback',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('http://localhost:3000')) resolve();
      });
      child!.on('exit', (code) => reject(new Error(`quick start exited with ${code}: ${stderr}`)));
    });
    const location = await new Promise<string>((resolve, reject) => {
      get('http://127.0.0.1:3000/auth/apple', (res) => {
        res.resume();
        resolve(String(res.headers.location));
      }).on('error', reject);
    });
    expect(location.startsWith('https://appleid.apple.com/auth/authorize?')).to.equal(true);
    const url = new URL(location);
    expect(location).to.include('scope=name%20email');
    expect(url.searchParams.get('client_id')).to.equal('com.example.web');
    expect(url.searchParams.get('response_mode')).to.equal('form_post');
    expect(url.searchParams.get('redirect_uri')).to.equal('https://app.example.com/auth/apple/callback');
    expect(url.searchParams.get('state')).to.have.length(32);
    expect(url.searchParams.get('nonce')).to.have.length(43);
  });
});
