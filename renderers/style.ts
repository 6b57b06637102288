// The renderer's CSS: VS Code variables only, so outputs follow the theme. A constant, never built from payloads.
export const STYLE = `
.tinymem-view { position: relative; }
.tinymem-chart { overflow-x: auto; }
.tinymem-toolbar { position: absolute; top: 2px; right: 2px; display: flex; gap: 4px; opacity: 0; \
transition: opacity 0.15s; z-index: 1; }
.tinymem-view:hover .tinymem-toolbar, .tinymem-toolbar:focus-within { opacity: 1; }
.tinymem-export { font: inherit; font-size: 11px; padding: 1px 8px; cursor: pointer; \
border: 1px solid var(--vscode-button-border, transparent);
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); \
border-radius: 2px; }
.tinymem-export:hover { background: var(--vscode-button-secondaryHoverBackground); }
.tinymem-export:disabled { opacity: 0.5; cursor: default; }
.tinymem-error { color: var(--vscode-errorForeground); font-family: var(--vscode-font-family); white-space: pre-wrap; \
padding: 4px 0; }
`;
