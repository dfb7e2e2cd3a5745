// The example app and the emulator in a real Chromium: the callback is a real cross-site form_post
// (the app is on localhost, the emulator on 127.0.0.1), with default cookie settings.
import { expect } from 'chai';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startExample, type RunningExample } from '../../example/server.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output', 'screenshots');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('sign-in in a real browser (example app + emulator)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let example: RunningExample;
  let context: BrowserContext;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get install chromium`);
      console.log(`    (skipped: no Chromium at ${CHROMIUM}; install it with apt-get install chromium)`);
      this.skip();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    example = await startExample({ port: 0, database: ':memory:', log: () => undefined });
  });

  after(async () => {
    await browser?.close();
    await example?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    // "Delete my account" asks for confirmation.
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterEach(async () => {
    await context.close();
  });

  const apple = (): NonNullable<RunningExample['apple']> => example.apple!;

  /** Home → Sign in with Apple → the emulator's consent page → Continue (or Cancel) → back to the app. */
  async function signIn(opts: { user?: number; hide?: boolean; cancel?: boolean } = {}): Promise<void> {
    await page.goto(example.url);
    await page.click('#sign-in');
    await page.waitForURL(`${apple().url}/**`);
    await page.check(`#user-${opts.user ?? 0}`);
    if (opts.hide !== undefined) await page.check(opts.hide ? '#email-hide' : '#email-share');
    await page.click(opts.cancel ? '#cancel' : '#continue');
    await page.waitForURL(`${example.url}/**`);
    await page.waitForLoadState('load');
  }

  const text = (selector: string): Promise<string> => page.locator(selector).innerText();

  it('first sign-in shows the name and email on the profile page (screenshot in test-output/screenshots)', async () => {
    const maria = apple().users[0]!;
    await signIn({ user: 0, hide: false });
    expect(new URL(page.url()).pathname).to.equal('/profile');
    expect(await text('#greeting')).to.equal(`Hello, ${maria.firstName} ${maria.lastName}`);
    expect(await text('#email')).to.equal(maria.email);
    expect(await text('#sub')).to.equal(maria.sub);
    expect(await text('#private')).to.equal('no');
    expect(await text('#verified')).to.equal('yes');
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, 'profile.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).to.be.above(10_000);
  });

  it('a second sign-in keeps the stored name, though Apple sends no name again', async () => {
    const maria = apple().users[0]!;
    const before = example.users.find(maria.sub);
    expect(before?.given_name).to.equal(maria.firstName);
    await signIn({ user: 0 });
    expect(await text('#greeting')).to.equal(`Hello, ${maria.firstName} ${maria.lastName}`);
    expect(example.users.find(maria.sub)?.given_name).to.equal(maria.firstName);
    expect(example.users.find(maria.sub)!.updated_at).to.be.at.least(before!.updated_at);
  });

  it('an email-disabled notification shows on the profile page', async () => {
    const maria = apple().users[0]!;
    await signIn({ user: 0 });
    expect(await text('#forwarding')).to.equal('on');
    expect(await apple().sendNotification({ type: 'email-disabled', sub: maria.sub })).to.equal(200);
    await page.reload();
    expect(await text('#forwarding')).to.equal('off (the user turned it off)');
    expect(await apple().sendNotification({ type: 'email-enabled', sub: maria.sub })).to.equal(200);
  });

  it('hidden email shows the relay address', async () => {
    const john = apple().users[1]!;
    await signIn({ user: 1, hide: true });
    const relay = apple().relayEmail(john.sub, 'com.example.web');
    expect(relay).to.match(/@privaterelay\.appleid\.com$/);
    expect(await text('#email')).to.equal(relay);
    expect(await text('#private')).to.equal('yes');
  });

  it('Cancel lands back home with a readable message', async () => {
    await signIn({ cancel: true });
    expect(new URL(page.url()).pathname).to.equal('/');
    expect(await text('#error')).to.equal('You cancelled Sign in with Apple. Nothing was shared.');
  });

  it('a tampered state is refused', async () => {
    const start = await context.request.get(`${example.url}/auth/apple`, { maxRedirects: 0 });
    expect(start.status()).to.equal(302);
    const location = start.headers().location!;
    const state = new URL(location).searchParams.get('state')!;
    // A string edit: URLSearchParams would re-encode scope=name%20email as name+email.
    const tampered = location.replace(`state=${state}`, `state=${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    const consent = await page.goto(tampered);
    expect(consent?.status(), await page.content()).to.equal(200);
    await page.click('#continue');
    await page.waitForURL(`${example.url}/**`);
    expect(new URL(page.url()).searchParams.get('error')).to.equal('ERR_STATE_MISMATCH');
    expect(await text('#error')).to.equal('That sign-in link was altered or is not yours. Please start again.');
    expect(await page.locator('#greeting').count()).to.equal(0);
  });

  it('delete-account revokes at the emulator, and the next sign-in is a first consent again', async () => {
    const maria = apple().users[0]!;
    await signIn({ user: 0 });
    const refreshToken = example.users.find(maria.sub)!.refresh_token!;
    expect(refreshToken).to.be.a('string');
    const revokedBefore = apple().revocations.length;
    await page.click('#delete-account');
    await page.waitForURL(`${example.url}/`);
    expect(await text('#info')).to.equal('Your account was deleted and Apple was told to forget this app.');
    expect(example.users.find(maria.sub)).to.equal(undefined);
    const revocation = apple().revocations[revokedBefore]!;
    expect(revocation).to.deep.include({ token: refreshToken, tokenTypeHint: 'refresh_token', clientID: 'com.example.web', known: true });
    await signIn({ user: 0, hide: false });
    expect(await text('#greeting')).to.equal(`Hello, ${maria.firstName} ${maria.lastName}`);
    expect(example.users.find(maria.sub)?.family_name).to.equal(maria.lastName);
  });

  it('refuses a sign-out or deletion posted without the form\'s token', async () => {
    const maria = apple().users[0]!;
    await signIn({ user: 0 });
    const forged = await context.request.post(`${example.url}/account/delete`, { form: { csrf: 'guess' }, maxRedirects: 0 });
    expect(forged.status()).to.equal(403);
    expect(example.users.find(maria.sub)).not.to.equal(undefined);
  });

  it('after rotateKeys() sign-in still works', async () => {
    const kid = apple().rotateKeys();
    expect(kid).to.be.a('string');
    await signIn({ user: 1 });
    expect(new URL(page.url()).pathname).to.equal('/profile');
    expect(await text('#sub')).to.equal(apple().users[1]!.sub);
  });
});
