// Users, keyed by Apple's `sub`. The name Apple sends on the first consent is kept for good:
// Apple never sends it again, so a later sign-in (with no name) must not erase it.
import Database from 'better-sqlite3';

export interface UserRow {
  sub: string;
  email: string | null;
  email_verified: number | null;
  is_private_email: number | null;
  email_disabled: number;
  given_name: string | null;
  family_name: string | null;
  refresh_token: string | null;
  created_at: number;
  updated_at: number;
}

export interface SignIn {
  sub: string;
  email?: string;
  emailVerified?: boolean;
  isPrivateEmail?: boolean;
  givenName?: string;
  familyName?: string;
  refreshToken?: string;
}

const bool = (value: boolean | undefined): number | null => (value === undefined ? null : value ? 1 : 0);

export class Users {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS users (
      sub TEXT PRIMARY KEY,
      email TEXT,
      email_verified INTEGER,
      is_private_email INTEGER,
      email_disabled INTEGER NOT NULL DEFAULT 0,
      given_name TEXT,
      family_name TEXT,
      refresh_token TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  }

  /** Records a sign-in. Name and refresh token are only ever filled in, never blanked. */
  signIn(user: SignIn): UserRow {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO users (sub, email, email_verified, is_private_email, given_name, family_name, refresh_token, created_at, updated_at)
         VALUES (@sub, @email, @emailVerified, @isPrivateEmail, @givenName, @familyName, @refreshToken, @now, @now)
         ON CONFLICT(sub) DO UPDATE SET
           email = COALESCE(excluded.email, users.email),
           email_verified = COALESCE(excluded.email_verified, users.email_verified),
           is_private_email = COALESCE(excluded.is_private_email, users.is_private_email),
           given_name = COALESCE(excluded.given_name, users.given_name),
           family_name = COALESCE(excluded.family_name, users.family_name),
           refresh_token = COALESCE(excluded.refresh_token, users.refresh_token),
           updated_at = excluded.updated_at`,
      )
      .run({
        sub: user.sub,
        email: user.email ?? null,
        emailVerified: bool(user.emailVerified),
        isPrivateEmail: bool(user.isPrivateEmail),
        givenName: user.givenName ?? null,
        familyName: user.familyName ?? null,
        refreshToken: user.refreshToken ?? null,
        now,
      });
    return this.find(user.sub)!;
  }

  find(sub: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE sub = ?').get(sub) as UserRow | undefined;
  }

  setEmailDisabled(sub: string, disabled: boolean): void {
    this.db.prepare('UPDATE users SET email_disabled = ?, updated_at = ? WHERE sub = ?').run(disabled ? 1 : 0, Date.now(), sub);
  }

  /** After consent-revoked: the tokens are dead, so forget the refresh token. */
  forgetTokens(sub: string): void {
    this.db.prepare('UPDATE users SET refresh_token = NULL, updated_at = ? WHERE sub = ?').run(Date.now(), sub);
  }

  delete(sub: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE sub = ?').run(sub).changes > 0;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
