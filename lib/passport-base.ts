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

/**
 * Runs one asynchronous authentication and reports exactly one outcome to Passport. A failure of
 * the task after an outcome was reported (typically the application's own callback throwing
 * inside `success`) is not reported a second time, which would run that callback twice; it is
 * raised as a process warning instead, so it is seen and does not crash the process.
 */
export function runOnce(strategy: PassportStrategyActions, task: (actions: PassportStrategyActions) => Promise<void>): void {
  let settled = false;
  const once =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      if (settled) return;
      settled = true;
      fn.apply(strategy, args);
    };
  const actions: PassportStrategyActions = {
    success: once(strategy.success),
    fail: once(strategy.fail),
    error: once(strategy.error),
    redirect: once(strategy.redirect),
    pass: once(strategy.pass),
  };
  task(actions).catch((err: unknown) => {
    if (!settled) return actions.error(err);
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), {
      code: 'PASSPORT_APPLE_AFTER_OUTCOME',
      detail: 'An error was thrown after the sign-in outcome had been reported to Passport (usually by the application callback).',
    });
  });
}
