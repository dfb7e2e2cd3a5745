import type { Request } from 'express';
import PassportStrategyBase from 'passport-strategy';

/**
 * What Passport gives a strategy for the length of one `authenticate` call: exactly one of these
 * is called per request.
 */
export interface PassportStrategyActions {
  /** The user is authenticated. */
  success(user: unknown, info?: object): void;
  /** Authentication failed: `challenge` (here an `AppleAuthError`) and an HTTP status. */
  fail(challenge?: unknown, status?: number): void;
  /** Something broke that is not the user's doing (Apple unreachable, a misconfiguration). */
  error(err: unknown): void;
  /** Redirect the browser. */
  redirect(url: string, status?: number): void;
  /** Skip this strategy. */
  pass(): void;
}

/** A Passport strategy instance, as passport-strategy's base class makes it. */
export interface PassportStrategyInstance extends PassportStrategyActions {
  name?: string;
  authenticate(req: Request, options?: Record<string, unknown>): void;
}

/** passport-strategy's `Strategy`, typed for subclassing (the package itself ships no types). */
export const PassportStrategy = PassportStrategyBase as unknown as abstract new () => PassportStrategyInstance;
