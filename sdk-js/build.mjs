// Builds dist/: the ESM package (index.js, server/index.js, .d.ts), the browser
// bundle for <script> (centrifuge.js, global Centrifuge) and sockjs.min.js
// (loaded by the sockjs transport only). Prints the bundle's size, raw and
// gzip -9. With --tests, also bundles test/unit/*.test.ts into .build/test/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tests = process.argv.includes('--tests');

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });

const common = { bundle: true, target: 'es2020', logLevel: 'warning', legalComments: 'none' };

await Promise.all([
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', format: 'esm', platform: 'browser', sourcemap: true }),
  build({
    ...common,
    entryPoints: ['src/browser.ts'],
    outfile: 'dist/centrifuge.js',
    format: 'iife',
    globalName: 'Centrifuge',
    footer: { js: 'Centrifuge=Centrifuge.default;' },
    platform: 'browser',
    minify: true,
    // Private members (leading underscore) never leave the bundle: shorter names.
    mangleProps: /^_/,
    sourcemap: true,
    logOverride: { 'empty-import-meta': 'silent' },
  }),
  build({
    ...common,
    entryPoints: ['src/server/index.ts'],
    outfile: 'dist/server/index.js',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
  }),
]);
copyFileSync(require.resolve('sockjs-client/dist/sockjs.min.js'), 'dist/sockjs.min.js');
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

const bundle = readFileSync('dist/centrifuge.js');
const gz = gzipSync(bundle, { level: 9 }).length;
console.log(`dist/centrifuge.js: ${(bundle.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(2)} KB gzip -9 (limit 10 KB)`);

if (tests) {
  rmSync('.build', { recursive: true, force: true });
  const entryPoints = readdirSync('test/unit').filter((f) => f.endsWith('.test.ts')).map((f) => `test/unit/${f}`);
  await build({
    ...common,
    entryPoints,
    outdir: '.build/test',
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
  });
}
