import type { AppleEmulatorResolvedUser } from './types.js';

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
  :root { color-scheme: light dark; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 -apple-system, BlinkMacSystemFont, "Helvetica Neue", Helvetica, Arial, sans-serif;
    background: #f5f5f7; color: #1d1d1f; display: flex; min-height: 100vh; align-items: center; justify-content: center; padding: 24px 0; box-sizing: border-box; }
  main { background: #fff; width: min(440px, 100% - 32px); border-radius: 18px; padding: 32px 28px; box-shadow: 0 4px 24px rgba(0,0,0,.08); }
  .logo { font-size: 13px; font-weight: 600; letter-spacing: .02em; text-align: center; margin: 0; }
  .logo span { font-weight: 400; color: #6e6e73; }
  h1 { font-size: 22px; font-weight: 600; text-align: center; margin: 8px 0 4px; }
  .sub { text-align: center; color: #6e6e73; margin: 0 0 20px; }
  fieldset { border: 0; padding: 0; margin: 0 0 18px; }
  legend { font-weight: 600; margin-bottom: 8px; }
  label.choice { display: flex; gap: 10px; align-items: flex-start; padding: 10px 12px; border: 1px solid #d2d2d7; border-radius: 10px; margin-bottom: 8px; cursor: pointer; }
  label.choice small { display: block; color: #6e6e73; }
  .custom input[type=text], .custom input[type=email] { width: 100%; margin-top: 6px; padding: 8px 10px; border: 1px solid #d2d2d7; border-radius: 8px; font: inherit; }
  .row { display: flex; gap: 8px; }
  .error { background: #fff2f2; color: #b00020; border-radius: 8px; padding: 8px 12px; }
  .buttons { display: flex; flex-direction: column; gap: 10px; margin-top: 8px; }
  button { font: inherit; font-weight: 600; border-radius: 10px; padding: 12px; border: 0; cursor: pointer; }
  #continue { background: #000; color: #fff; }
  #cancel { background: transparent; color: #0066cc; }
  .forget { color: #6e6e73; font-size: 13px; display: flex; gap: 8px; align-items: center; margin-bottom: 12px; }
  code { font-size: 13px; }
  @media (prefers-color-scheme: dark) {
    body { background: #000; color: #f5f5f7; } main { background: #1c1c1e; }
    label.choice, .custom input[type=text], .custom input[type=email] { border-color: #3a3a3c; background: transparent; color: inherit; }
    #continue { background: #f5f5f7; color: #000; } #cancel { color: #2997ff; }
  }`;

function page(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="logo">Apple&nbsp;ID <span>emulator</span></p>
${body}
</main>${script}
</body>
</html>
`;
}

/** Apple shows authorize errors on its own page and never redirects: so does the emulator. */
export function errorPage(error: string, description: string): string {
  return page(
    'Sign in with Apple: error',
    `<h1>Your request could not be completed</h1>
<p class="error"><strong id="error-code">${escapeHtml(error)}</strong> &ndash; <span id="error-description">${escapeHtml(description)}</span></p>
<p class="sub">The app sent a request Apple would refuse. Nothing was sent back to it.</p>`,
  );
}

/** What the consent page needs to know. */
export interface ConsentPageInput {
  requestID: string;
  clientID: string;
  users: readonly AppleEmulatorResolvedUser[];
  scopes: readonly string[];
  /** Shown above the form after a submit that could not be used. */
  error?: string;
  /** Values the user had typed, put back after an error. */
  typed?: { user?: string; email?: string; firstName?: string; lastName?: string; hide?: boolean };
}

/**
 * The consent sheet. Stable names and ids for browser tests: `input[name=user][value=<sub>]`,
 * `#user-custom` with `#custom-email`, `#custom-first-name`, `#custom-last-name`, `#email-share`,
 * `#email-hide`, `#forget-consent`, `button#continue`, `button#cancel`.
 */
export function consentPage(input: ConsentPageInput): string {
  const typed = input.typed ?? {};
  const selected = typed.user ?? input.users[0]?.sub;
  const asksEmail = input.scopes.includes('email');
  const asksName = input.scopes.includes('name');
  const users = input.users
    .map(
      (user, index) => `<label class="choice"><input type="radio" name="user" id="user-${index}" value="${escapeHtml(user.sub)}"${user.sub === selected ? ' checked' : ''}>
<span>${escapeHtml(`${user.firstName} ${user.lastName}`.trim() || user.email)}<small>${escapeHtml(user.email)}</small></span></label>`,
    )
    .join('\n');
  const custom = `<label class="choice custom"><input type="radio" name="user" id="user-custom" value="custom"${selected === 'custom' ? ' checked' : ''}>
<span>Another Apple ID
<input type="email" id="custom-email" name="custom_email" placeholder="Email" autocomplete="off" maxlength="254" value="${escapeHtml(typed.email ?? '')}">
<span class="row"><input type="text" id="custom-first-name" name="custom_first_name" placeholder="First name" maxlength="100" value="${escapeHtml(typed.firstName ?? '')}">
<input type="text" id="custom-last-name" name="custom_last_name" placeholder="Last name" maxlength="100" value="${escapeHtml(typed.lastName ?? '')}"></span></span></label>`;
  const emailChoice = asksEmail
    ? `<fieldset>
<legend>Email</legend>
<label class="choice"><input type="radio" name="email_choice" id="email-share" value="share"${typed.hide ? '' : ' checked'}><span>Share My Email<small>The app gets the address of the Apple ID.</small></span></label>
<label class="choice"><input type="radio" name="email_choice" id="email-hide" value="hide"${typed.hide ? ' checked' : ''}><span>Hide My Email<small>The app gets a relay address at privaterelay.appleid.com.</small></span></label>
</fieldset>`
    : '';
  const shares = [asksName ? 'your name' : '', asksEmail ? 'your email' : ''].filter(Boolean).join(' and ');
  return page(
    'Sign in with Apple',
    `<h1>Sign in with Apple</h1>
<p class="sub">Use your Apple ID to sign in to <code id="client-id">${escapeHtml(input.clientID)}</code>${shares ? `. It asks for ${shares}.` : '.'}</p>
${input.error ? `<p class="error" id="form-error">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="/auth/authorize/consent" id="consent">
<input type="hidden" name="request_id" value="${escapeHtml(input.requestID)}">
<fieldset>
<legend>Apple ID</legend>
${users}
${custom}
</fieldset>
${emailChoice}
<label class="forget"><input type="checkbox" id="forget-consent" name="forget_consent" value="1"> Forget earlier consent (sign in as the first time: Apple sends the name, and takes the email choice, only then)</label>
<div class="buttons">
<button type="submit" id="continue" name="action" value="continue">Continue</button>
<button type="submit" id="cancel" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>`,
  );
}

/** Apple's form_post answer: a form posting the fields to redirect_uri, submitted on load. */
export function autoSubmitPage(redirectURI: string, fields: Record<string, string>, scriptNonce: string): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    'Sign in with Apple',
    `<h1>Signing you in&hellip;</h1>
<form method="post" action="${escapeHtml(redirectURI)}" id="apple-response">
${inputs}
<noscript><div class="buttons"><button type="submit" id="continue">Continue</button></div></noscript>
</form>`,
    `\n<script nonce="${escapeHtml(scriptNonce)}">document.getElementById('apple-response').submit();</script>`,
  );
}
