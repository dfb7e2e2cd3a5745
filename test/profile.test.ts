import { expect } from 'chai';
import { appleBoolean } from '../lib/index.js';
import { buildProfile } from '../lib/profile.js';
import type { AppleIdTokenClaims } from '../lib/id-token.js';

describe('profile', () => {
  const base: AppleIdTokenClaims = { iss: 'https://appleid.apple.com', aud: 'c', sub: 's.1', iat: 1, exp: 2 };

  for (const [value, expected] of [[true, true], ['true', true], [false, false], ['false', false], [undefined, undefined], ['yes', undefined], [1, undefined]] as const) {
    it(`normalises ${JSON.stringify(value)} to ${String(expected)}`, () => {
      expect(appleBoolean(value)).to.equal(expected);
      const profile = buildProfile({ ...base, email: 'a@b.c', email_verified: value as never, is_private_email: value as never }, 'raw', undefined, false);
      expect(profile.emailVerified).to.equal(expected);
      expect(profile.isPrivateEmail).to.equal(expected);
    });
  }

  it('has an empty emails list and no email fields when the token has no email', () => {
    const profile = buildProfile(base, 'raw', undefined, false);
    expect(profile).to.deep.equal({ provider: 'apple', id: 's.1', emails: [], isFirstLogin: false, _json: base, _raw: 'raw' });
  });

  it('carries name, displayName, realUserStatus and transferSub', () => {
    const profile = buildProfile({ ...base, real_user_status: 2, transfer_sub: 't.9' }, 'raw', { givenName: 'Maria' }, true);
    expect(profile.name).to.deep.equal({ givenName: 'Maria' });
    expect(profile.displayName).to.equal('Maria');
    expect(profile.realUserStatus).to.equal(2);
    expect(profile.transferSub).to.equal('t.9');
    expect(profile.isFirstLogin).to.equal(true);
  });

  it('ignores a real_user_status outside 0..2', () => {
    expect(buildProfile({ ...base, real_user_status: 7 }, 'raw', undefined, false).realUserStatus).to.equal(undefined);
  });
});
