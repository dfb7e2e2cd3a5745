import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppleAuthError, AppleConfigError, AppleTokenError } from '../lib/index.js';

const root = join(__dirname, '..');

describe('errors', () => {
  it('every code is documented in the README error table, and the table names no other', () => {
    const declared = [...readFileSync(join(root, 'lib/errors.ts'), 'utf8').matchAll(/^ {2}\| '(ERR_[A-Z_]+)'/gm)].map((m) => m[1]!);
    const documented = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/^\| `(ERR_[A-Z_]+)`/gm)].map((m) => m[1]!);
    expect(declared.length).to.be.above(40);
    expect([...documented].sort()).to.deep.equal([...declared].sort());
  });

  it('carry their class name, code and cause', () => {
    const cause = new Error('inner');
    const err = new AppleConfigError('ERR_CONFIG_INVALID', 'clientID is required', { cause });
    expect(err).to.be.instanceOf(AppleAuthError);
    expect(err.name).to.equal('AppleConfigError');
    expect(err.code).to.equal('ERR_CONFIG_INVALID');
    expect(err.cause).to.equal(cause);
  });

  it('maps Apple\'s OAuth errors to codes, and unknown ones to ERR_TOKEN_ERROR', () => {
    expect(new AppleTokenError('invalid_scope', undefined, 400, 'h').code).to.equal('ERR_TOKEN_INVALID_SCOPE');
    const other = new AppleTokenError('slow_down', 'Too many.', 400, 'Wait.');
    expect(other.code).to.equal('ERR_TOKEN_ERROR');
    expect(other.message).to.equal('Apple answered slow_down: Too many. Wait.');
  });
});
