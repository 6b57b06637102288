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
.tinymem-progress { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size, 13px); \
color: var(--vscode-foreground); padding: 4px 0; max-width: 640px; }
.tinymem-progress-heading { font-weight: 600; margin-bottom: 4px; }
.tinymem-progress-bar { display: block; width: 100%; height: 6px; overflow: hidden; }
.tinymem-progress-track { fill: var(--vscode-editorWidget-border, var(--vscode-input-background)); }
.tinymem-progress-fill { fill: var(--vscode-progressBar-background); }
.tinymem-progress-unknown .tinymem-progress-fill { transform-box: fill-box; \
animation: tinymem-slide 1.6s ease-in-out infinite; }
@keyframes tinymem-slide { from { transform: translateX(-100%); } to { transform: translateX(340%); } }
@media (prefers-reduced-motion: reduce) { .tinymem-progress-unknown .tinymem-progress-fill { animation: none; \
opacity: 0.4; } }
.tinymem-progress-message { margin-top: 4px; overflow-wrap: anywhere; }
.tinymem-progress-times { color: var(--vscode-descriptionForeground); margin-top: 2px; \
font-variant-numeric: tabular-nums; }
`;
