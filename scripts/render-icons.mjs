// Renders the extension's icon from its SVG source: media/icon.svg → media/icon.png (128×128, the Marketplace
// size) and media/icon@2x.png (256×256, for high-density displays and the README). Run `node scripts/render-icons.mjs`
// after editing the SVG and commit the PNGs; packaging uses the committed files and does not run this.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg, initWasm } from '@resvg/resvg-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
await initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));

const svg = readFileSync(join(root, 'media', 'icon.svg'), 'utf8');
for (const [name, size] of [['icon.png', 128], ['icon@2x.png', 256]]) {
  const png = new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng();
  writeFileSync(join(root, 'media', name), png);
  console.log(`media/${name}: ${size}×${size}, ${png.length} bytes`);
}
