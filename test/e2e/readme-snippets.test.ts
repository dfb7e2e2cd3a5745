// Every TypeScript block of the README must compile under strict TypeScript against the built
// package. A block without imports continues the block before it. The few names the snippets
// leave to the application (a users table, a Redis client) are declared in a prelude.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const out = join(root, 'test-output', 'readme-snippets');

const PRELUDE = `// The application's own parts, which README snippets leave out.
declare const users: {
  upsertByAppleId(id: string, data: object): Promise<object>;
  pauseMail(sub: string, email?: string): Promise<void>;
  resumeMail(sub: string, email?: string): Promise<void>;
  signOutEverywhere(sub: string): Promise<void>;
};
declare function issueSessionToken(user: unknown): string;
declare const user: { appleRefreshToken: string; appleClientID: string };
declare const redis: { set(key: string, value: string, options: object): Promise<string | null>; del(key: string): Promise<number> };
declare const handler: (notification: unknown) => Promise<void>;
`;

export function readmeSnippets(readme: string): string[] {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const snippets: string[] = [];
  for (const block of blocks) {
    if (/^import /m.test(block) || snippets.length === 0) snippets.push(block);
    else snippets[snippets.length - 1] += `\n${block}`;
  }
  return snippets;
}

describe('README TypeScript snippets', function () {
  this.timeout(120_000);

  it('all compile under strict TypeScript against the built package', () => {
    const snippets = readmeSnippets(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(snippets.length).to.be.at.least(6);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'prelude.d.ts'), PRELUDE);
    const files = snippets.map((snippet, i) => {
      const name = `snippet-${i + 1}.mts`;
      writeFileSync(join(out, name), `${snippet}\nexport {};\n`);
      return name;
    });
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'] },
        files: ['prelude.d.ts', ...files],
      }),
    );
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
    } catch (err) {
      throw new Error(`README snippets do not compile (see ${out}):\n${(err as { stdout?: string }).stdout}`);
    }
  });
});
