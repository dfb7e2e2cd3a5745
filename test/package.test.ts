import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('the published package', () => {
  before(function () {
    this.timeout(120_000);
    if (!existsSync(join(root, 'dist/cjs/index.js')) || !existsSync(join(root, 'dist/esm/index.js'))) {
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    }
  });

  const names = 'Object.keys(m).sort().join(",")';

  it('works with require() and import, exporting the same names', () => {
    const cjs = node(['-e', `const m = require('passport-apple-signin'); console.log(${names})`]);
    const esm = node(['--input-type=module', '-e', `import * as m from 'passport-apple-signin'; console.log(${names})`]);
    expect(cjs).to.equal(esm);
    for (const name of ['AppleStrategy', 'Strategy', 'AppleAuthError', 'AppleIdTokenError', 'AppleStateError', 'AppleTokenError', 'CookieStateStore']) {
      expect(cjs.split(',')).to.include(name);
    }
  });

  it('exports Strategy as an alias of AppleStrategy, in both module systems', () => {
    expect(node(['-e', "const m = require('passport-apple-signin'); console.log(m.Strategy === m.AppleStrategy)"])).to.equal('true');
    expect(node(['--input-type=module', '-e', "import { Strategy, AppleStrategy } from 'passport-apple-signin'; console.log(Strategy === AppleStrategy)"])).to.equal('true');
  });

  it('ships type declarations for both entry points', () => {
    expect(existsSync(join(root, 'dist/cjs/index.d.ts'))).to.equal(true);
    expect(existsSync(join(root, 'dist/esm/index.d.ts'))).to.equal(true);
  });

  it('depends at run time on passport-oauth2, jose and @types/passport-oauth2 only', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../package.json') as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).sort()).to.deep.equal(['@types/passport-oauth2', 'jose', 'passport-oauth2']);
  });
});
