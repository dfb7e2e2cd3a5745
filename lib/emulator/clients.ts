import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AppleConfigError } from '../index.js';
import type { AppleEmulatorClient, AppleEmulatorClientRegistration } from './types.js';

/** The emulator's own team and key, used by every client registered without one. */
export const EMULATOR_TEAM_ID = 'EMUTEAM001';
export const EMULATOR_KEY_ID = 'EMUKEY0001';

/** A registered client as the endpoints see it. */
export interface ClientRecord {
  clientID: string;
  teamID: string;
  keyID: string;
  publicKey: KeyObject;
  /** PEM of the private key, when the emulator made it. */
  privateKeyPem: string | undefined;
  redirectURIs: string[];
}

const MAX_CLIENTS = 1000;
const MAX_REDIRECT_URIS = 100;

function checkCallbackURL(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `callbackURL "${value}" is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `callbackURL "${value}" must be an http(s) URL.`);
  }
  // Apple refuses Return URLs with a fragment. It also refuses http, IP addresses and localhost;
  // the emulator allows those so that tests can call back to 127.0.0.1.
  if (value.includes('#')) throw new AppleConfigError('ERR_CONFIG_INVALID', `callbackURL "${value}" must not have a #fragment: Apple refuses those.`);
  return value;
}

function checkId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || /\s/.test(value)) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', `${name} must be a non-empty string without spaces.`);
  }
  return value;
}

function toPublicKey(key: KeyObject | string): KeyObject {
  let publicKey: KeyObject;
  try {
    publicKey = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  } catch (cause) {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'publicKey must be an EC P-256 public key (KeyObject or PEM).', { cause });
  }
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AppleConfigError('ERR_CONFIG_INVALID', 'publicKey must be an EC P-256 key: Apple client secrets are ES256.');
  }
  return publicKey;
}

/** The Services IDs and bundle IDs the emulator knows, with the key that signs each one's secrets. */
export class ClientRegistry {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly teamKey: { publicKey: KeyObject; pem: string };

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.teamKey = { publicKey, pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  }

  get(clientID: string): ClientRecord | undefined {
    return this.clients.get(clientID);
  }

  /** The first registered client, the default `aud` of notifications. */
  first(): ClientRecord | undefined {
    return this.clients.values().next().value;
  }

  /**
   * Registers a client, or updates one: a second call adds its callbackURL to the allowed ones and
   * replaces team, key ID or key when given.
   */
  register(registration: AppleEmulatorClientRegistration): ClientRecord {
    if (!registration || typeof registration !== 'object') throw new AppleConfigError('ERR_CONFIG_INVALID', 'registerClient needs { clientID, ... }.');
    const clientID = checkId(registration.clientID, 'clientID');
    const existing = this.clients.get(clientID);
    if (!existing && this.clients.size >= MAX_CLIENTS) throw new AppleConfigError('ERR_CONFIG_INVALID', `The emulator holds at most ${MAX_CLIENTS} clients.`);
    const record: ClientRecord = existing ?? {
      clientID,
      teamID: EMULATOR_TEAM_ID,
      keyID: EMULATOR_KEY_ID,
      publicKey: this.teamKey.publicKey,
      privateKeyPem: this.teamKey.pem,
      redirectURIs: [],
    };
    if (registration.teamID !== undefined) record.teamID = checkId(registration.teamID, 'teamID');
    if (registration.keyID !== undefined) record.keyID = checkId(registration.keyID, 'keyID');
    if (registration.publicKey !== undefined) {
      record.publicKey = toPublicKey(registration.publicKey);
      record.privateKeyPem = undefined;
    }
    if (registration.callbackURL !== undefined) {
      const url = checkCallbackURL(registration.callbackURL);
      if (!record.redirectURIs.includes(url)) {
        if (record.redirectURIs.length >= MAX_REDIRECT_URIS) {
          throw new AppleConfigError('ERR_CONFIG_INVALID', `A client holds at most ${MAX_REDIRECT_URIS} Return URLs.`);
        }
        record.redirectURIs.push(url);
      }
    }
    this.clients.set(clientID, record);
    return record;
  }
}

/** The public view of a record. */
export function describeClient(record: ClientRecord): AppleEmulatorClient {
  return {
    clientID: record.clientID,
    teamID: record.teamID,
    keyID: record.keyID,
    callbackURLs: [...record.redirectURIs],
    privateKey: record.privateKeyPem,
  };
}
