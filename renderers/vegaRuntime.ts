// vega + vega-lite, loaded on the first chart (a dynamic import of this module) so that activating the renderer
// stays cheap. esbuild inlines it into dist/renderer.js; its module code runs only when first imported.
import * as vega from 'vega';
import { compile } from 'vega-lite';

export { compile, vega };
