#!/usr/bin/env node
// `npm start`: installs what is missing (quiet when done), builds and packages the extension,
// starts the local stack and opens a ready VS Code (code-server on 127.0.0.1) with DataPipeline
// installed and the stack's dags/ and scripts/ as the workspace. Prints the URL; Ctrl+C stops
// VS Code and the stack it started (DP_KEEP_STACK=1 leaves the stack running).
import { spawn } from 'node:child_process';
import { bin, ensureNodeModules, must, root, setup } from './lib/setup.mjs';

process.chdir(root);
ensureNodeModules();
if (process.env.DP_SKIP_SETUP !== '1') await setup({ codeServer: true, nativeStack: process.env.DATAPIPELINE_BACKEND !== 'docker' });
must('build + package', 'npm', ['run', '--silent', 'package']);
// The rest is TypeScript (it shares the code-server helpers with the e2e tests).
const child = spawn(bin('tsx'), ['scripts/start-vscode.ts', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
