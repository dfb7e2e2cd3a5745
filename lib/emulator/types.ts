import type { KeyObject } from 'node:crypto';

/** A test user of the emulator. */
export interface AppleEmulatorUser {
  /** The Apple user ID. Default: derived from the email, in Apple's `000000.<32 hex>.0000` shape. */
  sub?: string;
  /** The real address; Hide My Email replaces it with a relay address. */
  email: string;
  firstName: string;
  lastName: string;
}

/** A test user with its `sub` settled. */
export type AppleEmulatorResolvedUser = Required<AppleEmulatorUser>;

/** Options of {@link createAppleEmulator}. */
export interface AppleEmulatorOptions {
  /** The users offered on the consent page (default: Maria Ruiz and John Appleseed). */
  users?: AppleEmulatorUser[];
  /**
   * How `email_verified` and `is_private_email` are sent. Apple documents both; `'string'`
   * (`"true"`/`"false"`, the default) is what web sign-ins mostly get.
   */
  booleans?: 'string' | 'boolean';
  /** id_token lifetime in seconds (default 86400, as in Apple's recent tokens). */
  tokenLifetime?: number;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Where {@link AppleEmulator.sendNotification} posts by default. */
  notificationURL?: string;
  /** Clock for tests, milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
}

/** A client (Services ID or bundle ID) as {@link AppleEmulator.registerClient} takes it. */
export interface AppleEmulatorClientRegistration {
  /** Services ID (web) or bundle ID (native). Case-sensitive, as at Apple. */
  clientID: string;
  /** A Return URL to allow, matched exactly. Bundle IDs have none. */
  callbackURL?: string;
  /** Team ID the client secret's `iss` must name (default: the emulator's team). */
  teamID?: string;
  /** Key ID the client secret's `kid` must name (default: the emulator's key, or the client's current one). */
  keyID?: string;
  /** Public EC P-256 key (KeyObject or PEM) checking the client secrets; default the emulator's own key. */
  publicKey?: KeyObject | string;
}

/** A registered client. */
export interface AppleEmulatorClient {
  clientID: string;
  teamID: string;
  keyID: string;
  /** The allowed Return URLs, in registration order. */
  callbackURLs: string[];
  /** PKCS#8 PEM of the key that signs this client's secrets, when the emulator holds it. */
  privateKey: string | undefined;
}

/** What {@link AppleEmulator.strategyOptions} returns: spread it into `new AppleStrategy(...)`. */
export interface AppleEmulatorStrategyOptions {
  clientID: string;
  teamID: string;
  keyID: string;
  /** PKCS#8 PEM of an EC P-256 key, like an `AuthKey_XXXXXXXXXX.p8`. */
  privateKey: string;
  callbackURL: string;
  authorizationURL: string;
  tokenURL: string;
  jwksURL: string;
  revokeURL: string;
  issuer: string;
}

/** Server-to-server notification types, with both spellings of the deletion event. */
export type AppleEmulatorNotificationType = 'email-disabled' | 'email-enabled' | 'consent-revoked' | 'account-delete' | 'account-deleted';

/** An event for {@link AppleEmulator.signNotification}. */
export interface AppleEmulatorNotification {
  type: AppleEmulatorNotificationType;
  /** Default: the first test user. */
  sub?: string;
  /** Email events only. Default: the user's relay address for `clientID`. */
  email?: string;
  /** Email events only (default true). Sent as the string `"true"`/`"false"`, as Apple does. */
  isPrivateEmail?: boolean;
  /** The `aud` (default: the first registered client). */
  clientID?: string;
  /** `event_time` in seconds (default: now). */
  eventTime?: number;
}

/** One call of /auth/revoke that passed client authentication. */
export interface AppleEmulatorRevocation {
  token: string;
  tokenTypeHint: string | undefined;
  clientID: string;
  /** Whether the token was a live token of that client (Apple answers 200 either way). */
  known: boolean;
  /** Milliseconds since the epoch, on the emulator's clock. */
  at: number;
}

/** Request counters. */
export interface AppleEmulatorStats {
  authorizeRequests: number;
  tokenRequests: number;
  revokeRequests: number;
  jwksFetches: number;
  notificationsSent: number;
}

/** Options of {@link AppleEmulator.issueIdentityToken}: what a native sign-in hands the app. */
export interface IssueIdentityTokenOptions {
  /** The app's bundle ID; it must be registered. */
  clientID: string;
  /** A test user's `sub` (default: the first test user). */
  sub?: string;
  /** An ad hoc user instead of a test user. */
  user?: AppleEmulatorUser;
  /** Copied as is into the token's `nonce` (apps conventionally pass the SHA-256 hex of their raw nonce). */
  nonce?: string;
  /** Hide My Email on first sign-in (default false). Later sign-ins keep the first choice. */
  hideEmail?: boolean;
  /** `real_user_status` for a first sign-in (default 2, LikelyReal). */
  realUserStatus?: 0 | 1 | 2;
}

/** What `ASAuthorizationAppleIDCredential` gives a native app. */
export interface IssuedIdentityToken {
  identityToken: string;
  /** Redeemable once, within 5 minutes, at /auth/token with `client_id` = bundle ID and no `redirect_uri`. */
  authorizationCode: string;
  /** The user identifier (`sub`). */
  user: string;
  /** Only on the first sign-in of this user to this app. */
  email: string | null;
  /** Only on the first sign-in of this user to this app. */
  fullName: { givenName: string; familyName: string } | null;
}

/** A running emulator. */
export interface AppleEmulator {
  /** Origin, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  /** The `iss` of every token it signs (its own URL). */
  readonly issuer: string;
  /** The test users, with their `sub`s. */
  readonly users: readonly AppleEmulatorResolvedUser[];
  /** Every accepted /auth/revoke call, oldest first. */
  readonly revocations: readonly AppleEmulatorRevocation[];
  /** A snapshot of the request counters. */
  readonly stats: AppleEmulatorStats;
  strategyOptions(options: { clientID?: string; callbackURL: string }): AppleEmulatorStrategyOptions;
  registerClient(registration: AppleEmulatorClientRegistration): AppleEmulatorClient;
  issueIdentityToken(options: IssueIdentityTokenOptions): IssuedIdentityToken;
  signNotification(event: AppleEmulatorNotification): string;
  sendNotification(event: AppleEmulatorNotification, url?: string): Promise<number>;
  /** Makes a new RS256 key the signer; earlier keys stay published. Returns the new `kid`. */
  rotateKeys(): string;
  /** The next sign-in of the matching users is a first consent again. Returns how many consents went. */
  forgetConsent(filter?: { sub?: string; email?: string; clientID?: string }): number;
  /** The Hide My Email address of a user for a client. */
  relayEmail(sub: string, clientID: string): string;
  close(): Promise<void>;
}
