import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * The panel's page: a strict Content Security Policy (scripts only with this load's
 * nonce, styles and images only from the extension's dist folder or as blobs,
 * connections only to the sidecar's preview endpoint), the bundled script and
 * stylesheet, nothing inline.
 */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, previewSource: string): string {
  const nonce = randomBytes(16).toString('base64');
  const dist = vscode.Uri.joinPath(extensionUri, 'dist');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} blob: data:`,
    `font-src ${webview.cspSource}`,
    `connect-src ${previewSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${style}">
  <title>Sidestream Streams</title>
</head>
<body>
  <header class="toolbar" role="toolbar" aria-label="Stream panel">
    <label for="layout">Layout</label>
    <vscode-single-select id="layout" aria-label="Grid layout">
      <vscode-option value="auto">Auto</vscode-option>
      <vscode-option value="1">1</vscode-option>
      <vscode-option value="2x1">2×1</vscode-option>
      <vscode-option value="2x2">2×2</vscode-option>
      <vscode-option value="3x3">3×3</vscode-option>
    </vscode-single-select>
    <vscode-checkbox id="show-analytics" checked>Analytics</vscode-checkbox>
    <span id="summary" class="summary" aria-live="polite"></span>
  </header>
  <main id="grid" class="grid" data-layout="1" aria-label="Stream previews"></main>
  <section id="analytics" class="analytics" aria-label="Analytics of the last 60 seconds"></section>
  <p id="empty" class="empty">No streams yet: run <strong>Sidestream: Open Stream…</strong> from the command palette.</p>
  <script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
