import { expect } from 'chai';
import { hasUserField, parseUserName } from '../lib/user-field.js';

describe('first-login user field', () => {
  it('reads Apple\'s JSON string and takes only the name', () => {
    expect(parseUserName('{"name":{"firstName":"Maria","lastName":"Ruiz"},"email":"x@y.z"}')).to.deep.equal({ givenName: 'Maria', familyName: 'Ruiz' });
  });

  it('reads an already parsed object and a native app\'s shape', () => {
    expect(parseUserName({ name: { firstName: 'Maria' } })).to.deep.equal({ givenName: 'Maria' });
    expect(parseUserName({ givenName: 'Jo', familyName: 'Li' })).to.deep.equal({ givenName: 'Jo', familyName: 'Li' });
  });

  it('strips control and bidi characters, trims and caps at 100 characters', () => {
    expect(parseUserName({ name: { firstName: '  Ma\u0000ri\u202ea\n ', lastName: 'R'.repeat(300) } })).to.deep.equal({
      givenName: 'Maria',
      familyName: 'R'.repeat(100),
    });
  });

  const ignored: Array<[string, unknown]> = [
    ['malformed JSON', '{"name":'],
    ['an oversized string', JSON.stringify({ name: { firstName: 'x'.repeat(5000) } })],
    ['a JSON array', '[1,2]'],
    ['a JSON number', '42'],
    ['a name that is a string', { name: 'Maria' }],
    ['name parts that are not strings', { name: { firstName: 42, lastName: { a: 1 } } }],
    ['an empty name', { name: { firstName: '  ', lastName: '' } }],
    ['null', null],
  ];
  for (const [what, raw] of ignored) {
    it(`ignores ${what}`, () => {
      expect(parseUserName(raw)).to.equal(undefined);
    });
  }

  it('tells whether the field was sent', () => {
    expect(hasUserField('{"name":{}}')).to.equal(true);
    expect(hasUserField({})).to.equal(true);
    expect(hasUserField('')).to.equal(false);
    expect(hasUserField(undefined)).to.equal(false);
  });
});
