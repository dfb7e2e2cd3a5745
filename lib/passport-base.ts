import type { Request } from 'express';

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

/**
 * The base of a Passport strategy. Passport needs only a `name` and an `authenticate` method; it
 * adds `success`, `fail`, `error`, `redirect` and `pass` to a per-request copy of the strategy.
 * This is all passport-strategy's base class is, written here so it adds no dependency.
 */
abstract class StrategyBase {
  name?: string;
  abstract authenticate(req: Request, options?: Record<string, unknown>): void;
}

/** The base class, typed with the per-request actions Passport adds. */
export const PassportStrategy = StrategyBase as unknown as abstract new () => PassportStrategyInstance;
