import type { EmulatorContext } from './context.js';

/** The emulator's endpoints, relative to its origin (Apple's paths). */
export const PATHS = {
  authorize: '/auth/authorize',
  consent: '/auth/authorize/consent',
  token: '/auth/token',
  revoke: '/auth/revoke',
  keys: '/auth/keys',
  discovery: '/.well-known/openid-configuration',
} as const;

/**
 * The OpenID configuration, shaped like Apple's. Apple lists only "code" in
 * response_types_supported although "code id_token" works; the emulator lists both, as it serves both.
 */
export function openidConfiguration(ctx: EmulatorContext): Record<string, unknown> {
  return {
    issuer: ctx.issuer,
    authorization_endpoint: `${ctx.issuer}${PATHS.authorize}`,
    token_endpoint: `${ctx.issuer}${PATHS.token}`,
    revocation_endpoint: `${ctx.issuer}${PATHS.revoke}`,
    jwks_uri: `${ctx.issuer}${PATHS.keys}`,
    response_types_supported: ['code', 'code id_token'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'name'],
    token_endpoint_auth_methods_supported: ['client_secret_post'],
    claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'is_private_email', 'iss', 'nonce', 'nonce_supported', 'real_user_status', 'sub', 'transfer_sub'],
  };
}
