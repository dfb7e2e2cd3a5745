import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppleConfigError } from './errors.js';

/** Where the Sign in with Apple private key (the `.p8` file) comes from. Give exactly one. */
export interface PrivateKeyOptions {
  /** The key itself: the `.p8` PEM text, its bytes (PEM or PKCS#8 DER), or a `KeyObject`. */
  privateKey?: string | Buffer | KeyObject;
  /** Path to the `AuthKey_XXXXXXXXXX.p8` file. */
  privateKeyLocation?: string;
  /** The PEM text, for keys kept in an environment variable (literal `\n` escapes are fine). */
  privateKeyString?: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

/**
 * Turns the PEM as people actually paste it (from an env var with literal `\n`, with CRLF line
 * ends, indented in YAML, with its base64 body on one line) back into a PEM Node accepts.
 */
export function normalizePem(text: string): string {
  const unescaped = text.replace(/\\r/g, '').replace(/\\n/g, '\n').replace(/^["']|["']$/g, '');
  const match = PEM_BLOCK.exec(unescaped);
  if (!match) {
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_INVALID',
      'privateKey is not a PEM key: expected the contents of the AuthKey_XXXXXXXXXX.p8 file from Apple, starting with "-----BEGIN PRIVATE KEY-----".',
    );
  }
  const label = match[1]!;
  if (label !== 'PRIVATE KEY') {
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_INVALID',
      `privateKey is a "${label}" PEM; Apple's .p8 keys are PKCS#8 ("PRIVATE KEY"). ` +
        'Use the .p8 file as downloaded, or convert with: openssl pkcs8 -topk8 -nocrypt -in key.pem',
    );
  }
  const body = match[2]!.replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function keyFromBytes(bytes: Buffer): KeyObject {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN')) return keyFromPem(text);
  try {
    return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_INVALID',
      'privateKey bytes are neither a PEM nor a PKCS#8 DER key: pass the contents of the .p8 file from Apple.',
      { cause },
    );
  }
}

function keyFromPem(text: string): KeyObject {
  const pem = normalizePem(text);
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_INVALID',
      'privateKey could not be parsed: the PEM body is damaged (check that the whole .p8 file was copied).',
      { cause },
    );
  }
}

function assertP256(key: KeyObject): KeyObject {
  if (key.type !== 'private') {
    throw new AppleConfigError('ERR_PRIVATE_KEY_INVALID', `privateKey must be a private key, got a ${key.type} key.`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_INVALID',
      `privateKey must be an EC P-256 key (Apple's Sign in with Apple key), got ${kind}.`,
    );
  }
  return key;
}

/**
 * Parses the private key once, when the strategy is created, so a wrong key fails at start-up
 * rather than at the first login.
 */
export function loadPrivateKey(options: PrivateKeyOptions): KeyObject {
  const given = [options.privateKey, options.privateKeyLocation, options.privateKeyString].filter(
    (v) => v !== undefined && v !== null && v !== '',
  );
  if (given.length === 0) {
    throw new AppleConfigError(
      'ERR_PRIVATE_KEY_MISSING',
      'No private key: pass privateKey (the .p8 contents), privateKeyLocation (its path) or privateKeyString.',
    );
  }
  if (given.length > 1) {
    throw new AppleConfigError(
      'ERR_CONFIG_INVALID',
      'Pass only one of privateKey, privateKeyLocation and privateKeyString.',
    );
  }
  if (options.privateKeyLocation !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(options.privateKeyLocation);
    } catch (cause) {
      const reason = (cause as NodeJS.ErrnoException).code ?? 'read error';
      throw new AppleConfigError(
        'ERR_PRIVATE_KEY_UNREADABLE',
        `privateKeyLocation "${options.privateKeyLocation}" could not be read (${reason}): check the path and its permissions.`,
        { cause },
      );
    }
    return assertP256(keyFromBytes(bytes));
  }
  const key = options.privateKey ?? options.privateKeyString;
  if (typeof key === 'string') return assertP256(keyFromPem(key));
  if (Buffer.isBuffer(key)) return assertP256(keyFromBytes(key));
  if (isKeyObject(key)) return assertP256(key);
  throw new AppleConfigError(
    'ERR_PRIVATE_KEY_INVALID',
    'privateKey must be a PEM string, a Buffer or a crypto.KeyObject.',
  );
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KeyObject).export === 'function' &&
    typeof (value as KeyObject).type === 'string'
  );
}
