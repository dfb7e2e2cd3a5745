// Builds the dual package: CommonJS in dist/cjs, ES modules in dist/esm.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// `--if-missing` (before `npm start`) keeps an existing build.
if (process.argv.includes('--if-missing') && existsSync('dist/cjs/index.js') && existsSync('dist/esm/index.js')) process.exit(0);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.esm.json'], { stdio: 'inherit' });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
writeFileSync('dist/esm/package.json', '{ "type": "module" }\n');
if (existsSync('dist/cjs/cli.js')) chmodSync('dist/cjs/cli.js', 0o755);
