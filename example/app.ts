// The example app: Express 5, Passport with AppleStrategy, SQLite users, sign-out and account deletion.
import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { Passport } from 'passport';
import { AppleStrategy, appleNotifications, type AppleProfile, type AppleStrategyOptions } from 'passport-apple-signin';
import type { Users, UserRow } from './db.js';
import { errorPage, homePage, profilePage } from './views.js';

declare module 'express-session' {
  interface SessionData {
    flash?: string;
    csrf?: string;
  }
}

export interface ExampleAppOptions {
  /** Everything AppleStrategy needs: the emulator's strategyOptions(), or real Apple credentials. */
  strategyOptions: Omit<AppleStrategyOptions, 'passReqToCallback'>;
  users: Users;
  /** Shown in the footer: which Apple the app talks to. */
  mode: string;
  /**
   * Audiences of Apple's server-to-server notifications: the primary App ID's bundle ID (Apple's
   * notifications name it), default the strategy's clientID.
   */
  notificationClientIDs?: string[];
}

interface SessionUser {
  sub: string;
}

/** A per-session token for the app's own forms. */
function csrfToken(req: express.Request): string {
  if (!req.session.csrf) req.session.csrf = randomBytes(16).toString('base64url');
  return req.session.csrf;
}

/** What the home page says for each failure code; anything else gets the generic line. */
const FAILURE_TEXT: Record<string, string> = {
  ERR_AUTHORIZATION_CANCELLED: 'You cancelled Sign in with Apple. Nothing was shared.',
  ERR_STATE_MISSING: 'Your browser did not keep the sign-in cookie. Please try again.',
  ERR_STATE_MISMATCH: 'That sign-in link was altered or is not yours. Please start again.',
  ERR_STATE_EXPIRED: 'The sign-in took too long. Please start again.',
  ERR_STATE_INVALID: 'That sign-in could not be verified. Please start again.',
  ERR_STATE_REUSED: 'That sign-in was already used. Please start again.',
  ERR_TOKEN_INVALID_GRANT: 'Apple says the sign-in code expired or was used. Please try again.',
};

export function createExampleApp(options: ExampleAppOptions): { app: express.Express; strategy: AppleStrategy } {
  const { users, mode } = options;
  const passport = new Passport();
  const strategy = new AppleStrategy(options.strategyOptions, (_accessToken, refreshToken, profile: AppleProfile, done) => {
    // The name comes once, on the first consent; Users.signIn never overwrites it with nothing.
    const row = users.signIn({
      sub: profile.id,
      email: profile.email,
      emailVerified: profile.emailVerified,
      isPrivateEmail: profile.isPrivateEmail,
      givenName: profile.name?.givenName,
      familyName: profile.name?.familyName,
      refreshToken,
    });
    done(null, { sub: row.sub } satisfies SessionUser);
  });
  passport.use(strategy);
  passport.serializeUser((user, done) => done(null, (user as SessionUser).sub));
  passport.deserializeUser((sub: string, done) => done(null, users.find(sub) ? { sub } : false));

  const app = express();
  app.disable('x-powered-by');

  // Apple's server-to-server notifications: verified like an id_token, answered 200 only once
  // handled, so Apple retries on failure. Mounted before the session: Apple sends no cookies.
  app.post(
    '/apple/notifications',
    appleNotifications(
      {
        clientIDs: options.notificationClientIDs ?? [options.strategyOptions.clientID],
        keySet: strategy.keySet,
        issuer: options.strategyOptions.issuer,
      },
      (event) => {
        switch (event.type) {
          case 'email-disabled':
            users.setEmailDisabled(event.sub, true);
            break;
          case 'email-enabled':
            users.setEmailDisabled(event.sub, false);
            break;
          case 'consent-revoked':
            // The user stopped using Sign in with Apple here: their tokens are dead.
            users.forgetTokens(event.sub);
            break;
          case 'account-delete':
            users.delete(event.sub);
            break;
        }
      },
    ),
  );
  app.use(
    session({
      secret: randomBytes(32).toString('hex'),
      resave: false,
      // No session for anonymous visitors, so Apple's cookieless callback POST does not mint one
      // that would overwrite the browser's session cookie.
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(passport.session());
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));

  const current = (req: express.Request): UserRow | undefined => {
    const sub = (req.user as SessionUser | undefined)?.sub;
    return sub ? users.find(sub) : undefined;
  };

  app.get('/', (req, res) => {
    if (current(req)) return res.redirect('/profile');
    const flash = req.session.flash;
    if (flash) delete req.session.flash;
    const code = typeof req.query.error === 'string' ? req.query.error : undefined;
    // Only known texts, and only codes shaped like ours: the query is anyone's to write.
    const error = code === undefined ? undefined : Object.hasOwn(FAILURE_TEXT, code) ? FAILURE_TEXT[code] : /^ERR_[A-Z_]{1,60}$/.test(code) ? `Sign-in failed (${code}).` : 'Sign-in failed.';
    res.type('html').send(homePage({ mode, error, info: flash }));
  });

  app.get('/auth/apple', passport.authenticate('apple'));

  // Apple posts here from its own site. The strategy reads the body, checks state and the id_token.
  app.post('/auth/apple/callback', (req, res, next) => {
    passport.authenticate('apple', (err: Error | null, user: SessionUser | false, info: { code?: string } | undefined) => {
      if (err) return next(err);
      if (!user) return res.redirect(`/?error=${encodeURIComponent(info?.code ?? 'ERR_UNKNOWN')}`);
      req.logIn(user, (loginErr) => (loginErr ? next(loginErr) : res.redirect('/profile')));
    })(req, res, next);
  });

  app.get('/profile', (req, res) => {
    const user = current(req);
    if (!user) return res.redirect('/');
    res.type('html').send(profilePage(user, mode, csrfToken(req)));
  });

  // The session cookie is SameSite=Lax, which stops cross-site posts; the token also stops
  // same-site ones (a sibling subdomain) from signing the user out or deleting the account.
  const checkCsrf: express.RequestHandler = (req, res, next) => {
    const sent = (req.body as Record<string, unknown> | undefined)?.csrf;
    if (typeof sent === 'string' && req.session.csrf && sent === req.session.csrf) return next();
    res.status(403).type('html').send(errorPage('This form has expired. Go back, reload the page and try again.', mode));
  };

  app.post('/logout', checkCsrf, (req, res, next) => {
    req.logOut((err) => (err ? next(err) : res.redirect('/')));
  });

  // Apple requires apps that offer account deletion to revoke the user's tokens.
  app.post('/account/delete', checkCsrf, async (req, res, next) => {
    const user = current(req);
    if (!user) return res.redirect('/');
    try {
      if (user.refresh_token) await strategy.client.revoke(user.refresh_token, { tokenTypeHint: 'refresh_token' });
      users.delete(user.sub);
      req.logOut((err) => {
        if (err) return next(err);
        req.session.flash = 'Your account was deleted and Apple was told to forget this app.';
        res.redirect('/');
      });
    } catch (err) {
      next(err);
    }
  });

  app.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // The details go to the log; the page says what happened in a line, never with a stack trace.
    console.error(err);
    res.status(500).type('html').send(errorPage(`Something went wrong on our side${err.code ? ` (${err.code})` : ''}. Please try again later.`, mode));
  });
  return { app, strategy };
}
