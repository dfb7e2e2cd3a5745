import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppleConfigError } from '../lib/index.js';
import { loadPrivateKey, normalizePem } from '../lib/private-key.js';
import { clientKeyPair } from './support/apple.js';

describe('private key loading', () => {
  const { pem, privateKey } = clientKeyPair();
  const expected = privateKey.export({ format: 'jwk' }).d;
  const dOf = (k: ReturnType<typeof loadPrivateKey>): unknown => k.export({ format: 'jwk' }).d;

  it('reads the .p8 PEM as downloaded', () => {
    expect(dOf(loadPrivateKey({ privateKey: pem }))).to.equal(expected);
  });

  it('reads a PEM with literal \\n escapes, as kept in environment variables', () => {
    expect(dOf(loadPrivateKey({ privateKeyString: pem.trim().replace(/\n/g, '\\n') }))).to.equal(expected);
  });

  it('reads a PEM with CRLF line ends and stray indentation', () => {
    const messy = '  ' + pem.replace(/\n/g, '\r\n    ') + '\n\n';
    expect(dOf(loadPrivateKey({ privateKey: messy }))).to.equal(expected);
  });

  it('reads a PEM whose base64 body is on one line', () => {
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const oneLine = `-----BEGIN PRIVATE KEY----- ${body} -----END PRIVATE KEY-----`;
    expect(normalizePem(oneLine).split('\n')[1]!.length).to.equal(64);
    expect(dOf(loadPrivateKey({ privateKey: oneLine }))).to.equal(expected);
  });

  it('reads a Buffer of the PEM and of the PKCS#8 DER', () => {
    expect(dOf(loadPrivateKey({ privateKey: Buffer.from(pem) }))).to.equal(expected);
    expect(dOf(loadPrivateKey({ privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }) }))).to.equal(expected);
  });

  it('takes a KeyObject as is', () => {
    expect(loadPrivateKey({ privateKey })).to.equal(privateKey);
  });

  it('reads privateKeyLocation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apple-key-'));
    const file = join(dir, 'AuthKey_KEY1234567.p8');
    writeFileSync(file, pem);
    expect(dOf(loadPrivateKey({ privateKeyLocation: file }))).to.equal(expected);
  });

  const failures: Array<[string, () => unknown, string, RegExp]> = [
    ['no key at all', () => loadPrivateKey({}), 'ERR_PRIVATE_KEY_MISSING', /No private key/],
    ['two keys', () => loadPrivateKey({ privateKey: pem, privateKeyString: pem }), 'ERR_CONFIG_INVALID', /only one/],
    ['a missing file', () => loadPrivateKey({ privateKeyLocation: '/nonexistent/AuthKey.p8' }), 'ERR_PRIVATE_KEY_UNREADABLE', /ENOENT/],
    ['text that is no PEM', () => loadPrivateKey({ privateKey: 'not a key' }), 'ERR_PRIVATE_KEY_INVALID', /not a PEM key/],
    ['a damaged PEM body', () => loadPrivateKey({ privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }), 'ERR_PRIVATE_KEY_INVALID', /damaged/],
    [
      'a SEC1 "EC PRIVATE KEY"',
      () => loadPrivateKey({ privateKey: privateKey.export({ format: 'pem', type: 'sec1' }).toString() }),
      'ERR_PRIVATE_KEY_INVALID',
      /PKCS#8/,
    ],
    [
      'an RSA key',
      () => loadPrivateKey({ privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }),
      'ERR_PRIVATE_KEY_INVALID',
      /EC P-256 .*got rsa/,
    ],
    [
      'a P-384 key',
      () => loadPrivateKey({ privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey }),
      'ERR_PRIVATE_KEY_INVALID',
      /got EC secp384r1/,
    ],
    ['a public key', () => loadPrivateKey({ privateKey: clientKeyPair().publicKey }), 'ERR_PRIVATE_KEY_INVALID', /must be a private key/],
    ['a number', () => loadPrivateKey({ privateKey: 42 as never }), 'ERR_PRIVATE_KEY_INVALID', /PEM string, a Buffer or a crypto.KeyObject/],
  ];
  for (const [what, load, code, message] of failures) {
    it(`throws ${code} for ${what}`, () => {
      expect(load).to.throw(AppleConfigError, message).with.property('code', code);
    });
  }
});
