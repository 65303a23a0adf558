// One build script, two targets: the extension (node, CJS, `vscode` external) and the webview
// front ends (browser IIFE bundles, one per media/<name>/index.ts), plus their CSS.
// Flags: --production (minify, no sourcemaps), --watch.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const root = __dirname;

function webviewEntries() {
  const mediaDir = path.join(root, 'media');
  if (!fs.existsSync(mediaDir)) return {};
  const entries = {};
  for (const name of fs.readdirSync(mediaDir)) {
    const index = path.join(mediaDir, name, 'index.ts');
    if (fs.existsSync(index)) entries[name] = index;
  }
  return entries;
}

/** Copies media/<name>/*.css to dist/media/<name>/ (webviews link them by cspSource). */
function copyCss() {
  const mediaDir = path.join(root, 'media');
  if (!fs.existsSync(mediaDir)) return;
  for (const name of fs.readdirSync(mediaDir)) {
    const dir = path.join(mediaDir, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.css'))) {
      fs.mkdirSync(path.join(root, 'dist', 'media', name), { recursive: true });
      fs.copyFileSync(path.join(dir, file), path.join(root, 'dist', 'media', name, file));
    }
  }
}

/** Logs problems in the format the VS Code esbuild problem matcher understands. */
const problemReporter = {
  name: 'problem-reporter',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (build.initialOptions.platform === 'browser') copyCss();
      console.log('[watch] build finished');
    });
  },
};

async function main() {
  const common = {
    bundle: true,
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
    logLevel: 'warning',
    plugins: watch ? [problemReporter] : [],
  };
  const extension = await esbuild.context({
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    outdir: 'dist',
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    // vscode is provided by the host; ssh2's optional native helpers are loaded in try/catch.
    external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  });
  const webviews = await esbuild.context({
    ...common,
    entryPoints: webviewEntries(),
    outdir: 'dist/media',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
  });
  if (watch) {
    await Promise.all([extension.watch(), webviews.watch()]);
    return;
  }
  await Promise.all([extension.rebuild(), webviews.rebuild()]);
  copyCss();
  await Promise.all([extension.dispose(), webviews.dispose()]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
