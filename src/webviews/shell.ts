import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export interface WebviewShell {
  /** the bundle's name: dist/media/<name>.js */
  name: string;
  /** style sheets under dist/media, in order (e.g. the shared table's, then the panel's own) */
  stylesheets: string[];
  title: string;
  /** id of the root element the front end renders into */
  rootId: string;
  /** what the root shows until the front end takes over */
  placeholder: string;
}

/** The webview HTML every DataPipeline panel uses: `default-src 'none'`, the one script by a fresh
 *  crypto nonce, styles and fonts only from the webview's own source. */
export function webviewShellHtml(webview: vscode.Webview, extensionUri: vscode.Uri, s: WebviewShell): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const media = vscode.Uri.joinPath(extensionUri, 'dist', 'media');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(media, `${s.name}.js`));
  const links = s.stylesheets.map((f) => `<link rel="stylesheet" href="${webview.asWebviewUri(vscode.Uri.joinPath(media, ...f.split('/')))}">`).join('\n');
  const csp = [`default-src 'none'`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `img-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
<title>${s.title}</title>
</head>
<body>
<div id="${s.rootId}" aria-live="polite">${s.placeholder}</div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
