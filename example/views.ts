// The example's pages: plain HTML with every value escaped (Apple's name field is unsigned user input).
import type { UserRow } from './db.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const style = `
body{font:16px/1.5 -apple-system,BlinkMacSystemFont,"Helvetica Neue",Arial,sans-serif;background:#f5f5f7;color:#1d1d1f;margin:0}
main{max-width:520px;margin:64px auto;background:#fff;border-radius:18px;padding:40px;box-shadow:0 4px 24px rgba(0,0,0,.08)}
h1{font-size:28px;margin:0 0 8px}p.lead{color:#6e6e73;margin:0 0 28px}
.apple{display:inline-flex;align-items:center;gap:8px;background:#000;color:#fff;border:0;border-radius:8px;padding:12px 22px;font-size:17px;font-weight:500;text-decoration:none;cursor:pointer}
.apple svg{width:18px;height:18px;fill:#fff}
.notice{padding:12px 16px;border-radius:10px;margin:0 0 20px}.notice.error{background:#fdecea;color:#b3261e}.notice.info{background:#e8f2ff;color:#0b4f9c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:8px 20px;margin:0 0 28px}dt{color:#6e6e73}dd{margin:0;word-break:break-all}
.row{display:flex;gap:12px}button.plain{background:#e8e8ed;color:#1d1d1f;border:0;border-radius:8px;padding:10px 18px;font-size:15px;cursor:pointer}
button.danger{background:#fdecea;color:#b3261e;border:0;border-radius:8px;padding:10px 18px;font-size:15px;cursor:pointer}
footer{color:#86868b;font-size:13px;margin-top:28px}`;

const appleLogo = '<svg viewBox="0 0 814 1000" aria-hidden="true"><path d="M788 341c-6 4-107 61-107 187 0 146 128 198 132 199-1 3-20 71-68 140-42 61-87 122-154 122s-85-39-162-39c-76 0-103 40-164 40s-104-57-153-127C55 781 10 658 10 541c0-187 122-286 242-286 64 0 117 42 157 42 38 0 98-45 171-45 28 0 128 3 208 89zM552 159c30-36 51-85 51-135 0-7-1-14-2-20-48 2-106 32-140 73-27 31-53 80-53 131 0 8 1 15 2 18 3 1 8 1 13 1 44 0 99-29 129-68z"/></svg>';

function page(title: string, body: string, mode: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><main>${body}<footer id="mode">${escapeHtml(mode)}</footer></main></body></html>`;
}

export function homePage(options: { mode: string; error?: string; info?: string }): string {
  const notices = [
    options.error ? `<p class="notice error" id="error">${escapeHtml(options.error)}</p>` : '',
    options.info ? `<p class="notice info" id="info">${escapeHtml(options.info)}</p>` : '',
  ].join('');
  return page(
    'Sign in',
    `<h1>Welcome</h1><p class="lead">An example app for passport-apple-signin.</p>${notices}
<a class="apple" id="sign-in" href="/auth/apple">${appleLogo}<span>Sign in with Apple</span></a>`,
    options.mode,
  );
}

export function profilePage(user: UserRow, mode: string, csrf: string): string {
  const name = [user.given_name, user.family_name].filter(Boolean).join(' ');
  const yesNo = (v: number | null): string => (v === null ? 'unknown' : v ? 'yes' : 'no');
  return page(
    'Your profile',
    `<h1 id="greeting">Hello${name ? `, ${escapeHtml(name)}` : ''}</h1><p class="lead">You are signed in with Apple.</p>
<dl>
<dt>Apple ID (sub)</dt><dd id="sub">${escapeHtml(user.sub)}</dd>
<dt>Name</dt><dd id="name">${escapeHtml(name || '(not shared)')}</dd>
<dt>Email</dt><dd id="email">${escapeHtml(user.email ?? '(none)')}</dd>
<dt>Private relay</dt><dd id="private">${yesNo(user.is_private_email)}</dd>
<dt>Verified</dt><dd id="verified">${yesNo(user.email_verified)}</dd>
<dt>Email forwarding</dt><dd id="forwarding">${user.email_disabled ? 'off (the user turned it off)' : 'on'}</dd>
</dl>
<div class="row">
<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button class="plain" id="logout" type="submit">Sign out</button></form>
<form method="post" action="/account/delete" onsubmit="return confirm('Delete your account? Apple will be told to forget this app.')"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button class="danger" id="delete-account" type="submit">Delete my account</button></form>
</div>`,
    mode,
  );
}

export function errorPage(message: string, mode: string): string {
  return page('Something went wrong', `<h1>Something went wrong</h1><p class="notice error" id="error">${escapeHtml(message)}</p><a href="/">Back</a>`, mode);
}
