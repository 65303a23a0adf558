import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

function importsVscode(source: string): boolean {
  return /(from\s+['"]vscode['"])|(require\(\s*['"]vscode['"]\s*\))|(import\(\s*['"]vscode['"]\s*\))/.test(source);
}

describe('layout', () => {
  it('src/services never imports vscode, so the client layer runs under plain mocha', () => {
    const files = walk(path.join(root, 'src/services')).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 0, 'src/services has TypeScript files');
    const offenders = files.filter((f) => importsVscode(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => path.relative(root, f)), []);
  });

  it('src/services builds no webview message: it imports nothing from src/protocol or src/webviews (the protocols name the services\u2019 shapes)', () => {
    const files = walk(path.join(root, 'src/services')).filter((f) => f.endsWith('.ts'));
    const offenders = files.filter((f) => /from\s+['"][./]+\/(protocol|webviews)\//.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => path.relative(root, f)), []);
  });

  it('the check recognises every way of importing vscode, and nothing else', () => {
    for (const src of ["import * as vscode from 'vscode';", 'import type { Uri } from "vscode";', "const v = require('vscode');", "await import('vscode')"]) {
      assert.ok(importsVscode(src), src);
    }
    for (const src of ["import * as fs from 'node:fs';", "// talks to vscode-server", "import { x } from './vscodeish';"]) {
      assert.ok(!importsVscode(src), src);
    }
  });

  it('no child process is started through a shell', () => {
    const files = walk(path.join(root, 'src')).filter((f) => f.endsWith('.ts'));
    const offenders = files.filter((f) => /shell:\s*true|\bexecSync?\(/.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => path.relative(root, f)), []);
  });
});
