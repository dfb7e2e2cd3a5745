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

/** Called by a `verify` function: `done(err)`, `done(null, false, info)` or `done(null, user, info)`. */
export type VerifyDone = (err?: unknown, user?: unknown, info?: object) => void;

/**
 * Calls the application's `verify` in the form its arity declares, as passport-oauth2 does:
 * `(accessToken, refreshToken, [params,] profile, done)`, with `req` first when `passReq`.
 * `done(err)` is an error, `done(null, false, info)` a fail, `done(null, user, info)` a success
 * whose info gets `extraInfo` (the application state of a web sign-in).
 */
export function callVerify(
  verify: (...args: unknown[]) => void,
  passReq: boolean,
  args: { req: Request; accessToken: string | undefined; refreshToken: string | undefined; params: object; profile: object },
  actions: PassportStrategyActions,
  extraInfo: Record<string, unknown> = {},
): void {
  const done: VerifyDone = (err, user, info) => {
    if (err) return actions.error(err);
    if (!user) return actions.fail(info);
    const details = Object.keys(extraInfo).length > 0 ? { ...(info ?? {}), ...extraInfo } : info;
    actions.success(user, details);
  };
  const { req, accessToken, refreshToken, params, profile } = args;
  const withParams = verify.length >= (passReq ? 6 : 5);
  const leading = passReq ? [req, accessToken, refreshToken] : [accessToken, refreshToken];
  verify(...leading, ...(withParams ? [params] : []), profile, done);
}
