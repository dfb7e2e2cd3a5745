// passport-strategy ships no types, and @types/passport-strategy is not a dependency. Only
// passport-base.ts imports it, and re-exports it under types of its own, so the published
// declarations never mention this module.
declare module 'passport-strategy' {
  class Strategy {
    authenticate(req: unknown, options?: unknown): void;
  }
  export = Strategy;
}
