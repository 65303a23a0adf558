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

// Large libraries the extension loads on first use (kafkajs, dockerode with ssh2/grpc, yaml, the
// Kafka compression codecs) go to their own files in dist/vendor/: activation then parses ~0.2 MB
// instead of ~1.5 MB, and a codec is parsed only when a batch needs it. Module name → file name.
const VENDORED = {
  kafkajs: 'kafkajs',
  dockerode: 'dockerode',
  yaml: 'yaml',
  snappyjs: 'snappyjs',
  lz4js: 'lz4js',
  'lz4js/xxh32.js': 'lz4js-xxh32',
  fzstd: 'fzstd',
  '@bokuweb/zstd-wasm': 'zstd-wasm',
};
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const vendorExternal = {
  name: 'vendor-external',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(VENDORED).map(escapeRe).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: `./vendor/${VENDORED[args.path]}.js`, external: true }));
  },
};
/** zstd-wasm reads zstd.wasm beside itself (its __dirname: dist/vendor). */
function copyWasm() {
  const wasm = path.join(path.dirname(require.resolve('@bokuweb/zstd-wasm')), 'zstd.wasm');
  fs.mkdirSync(path.join(root, 'dist', 'vendor'), { recursive: true });
  fs.copyFileSync(wasm, path.join(root, 'dist', 'vendor', 'zstd.wasm'));
}
// The activation shell (dist/extension.js) loads the features (dist/main.js) on first use: keep
// them in their own file so activation parses only the shell.
const featuresExternal = {
  name: 'features-external',
  setup(build) {
    build.onResolve({ filter: /^\.\/main$/ }, (args) =>
      args.importer.endsWith(path.join('src', 'extension.ts')) ? { path: './main.js', external: true } : undefined,
    );
  },
};
const NODE_EXTERNALS = ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'];

async function main() {
  // A production build starts clean, so no development source map or stale bundle is packaged.
  if (production) fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
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
    // the search worker is its own file: a worker thread loads it (src/services/kafka/searchRunner.ts)
    entryPoints: { extension: 'src/extension.ts', main: 'src/main.ts', searchWorker: 'src/services/kafka/searchWorker.ts' },
    outdir: 'dist',
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    // vscode is provided by the host; ssh2's optional native helpers are loaded in try/catch.
    external: NODE_EXTERNALS,
    plugins: [...common.plugins, vendorExternal, featuresExternal],
  });
  const vendor = await esbuild.context({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(VENDORED).map(([name, file]) => [`vendor/${file}`, require.resolve(name)])),
    outdir: 'dist',
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    external: NODE_EXTERNALS,
  });
  const webviews = await esbuild.context({
    ...common,
    entryPoints: webviewEntries(),
    outdir: 'dist/media',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
  });
  copyWasm();
  if (watch) {
    await Promise.all([extension.watch(), vendor.watch(), webviews.watch()]);
    return;
  }
  await Promise.all([extension.rebuild(), vendor.rebuild(), webviews.rebuild()]);
  copyCss();
  await Promise.all([extension.dispose(), vendor.dispose(), webviews.dispose()]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
