// Specs are plain JSON objects handed to vega-lite's compile(); a loose type keeps these builders free of the
// vega-lite package (and of the DOM), so Node tests, the HTML report and the webview can all import them.
export type VlSpec = Record<string, unknown>;
