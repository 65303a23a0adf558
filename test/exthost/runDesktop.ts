/**
 * Runs the same extension-host suites in desktop VS Code through @vscode/test-electron
 * (downloads VS Code, so it needs a machine that can reach update.code.visualstudio.com).
 * The extension under test is loaded from the repo (extensionDevelopmentPath), so run
 * `npm run build` first.
 *
 *   npm run test:desktop [-- --grep <pattern>]
 */
import { runTests } from '@vscode/test-electron';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildExthostArtifacts, repoRoot } from '../exthost-runner/build';

async function main(): Promise<void> {
  const artifacts = await buildExthostArtifacts();
  const grepAt = process.argv.indexOf('--grep');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-desktop-ws-'));
  fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
  await runTests({
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: path.join(artifacts.distDir, 'desktopIndex.js'),
    launchArgs: [workspace, '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: {
      DATAPIPELINE_EXTHOST_GREP: grepAt >= 0 ? process.argv[grepAt + 1] : '',
      DATAPIPELINE_EXTHOST_RESULTS: path.join(repoRoot, 'test-results', 'exthost-desktop.json'),
    },
  });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
