// Builds the admin UI into dist/ (committed, embedded in the binary by embed.go):
// dist/index.html and dist/assets/<name>-<hash>.{js,css}. The output depends only
// on the sources and the pinned package versions, so `make generate` on any
// machine reproduces the committed files byte for byte (check-generated compares).
import * as esbuild from 'esbuild';
import { rmSync, mkdirSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ? process.argv[2] : join(here, 'dist');

// Size budget of the bundle (bytes, minified, before compression).
const MAX_JS = 160 * 1024;
const MAX_CSS = 24 * 1024;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.tsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
});

let js = '';
let css = '';
for (const file of Object.keys(result.metafile.outputs)) {
  const name = basename(file);
  if (name.endsWith('.js')) js = name;
  else if (name.endsWith('.css')) css = name;
}
if (!js || !css) throw new Error(`build produced no script or stylesheet: ${Object.keys(result.metafile.outputs)}`);
const jsSize = statSync(join(out, 'assets', js)).size;
const cssSize = statSync(join(out, 'assets', css)).size;
if (jsSize > MAX_JS) throw new Error(`assets/${js} is ${jsSize} bytes, over the budget of ${MAX_JS}`);
if (cssSize > MAX_CSS) throw new Error(`assets/${css} is ${cssSize} bytes, over the budget of ${MAX_CSS}`);

const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%SCRIPT%', `/assets/${js}`)
  .replace('%STYLE%', `/assets/${css}`);
writeFileSync(join(out, 'index.html'), html);
console.log(`admin UI: assets/${js} ${jsSize} B, assets/${css} ${cssSize} B`);
