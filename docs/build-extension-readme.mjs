// Builds the README that goes into the .vsix (dist/extension-README.md) from docs/extension-README.md, with every
// image link to docs/images/ replaced by the image itself as a data: URI.
//
// Why: VS Code's extension details view renders the README in a webview that resolves relative image links against
// its own address, not the extension's folder, so `images/x.png` shows as a broken image even when the PNG is in the
// package (checked in code-server 4.100.3 / VS Code 1.100.3). vsce would rewrite relative links to a public
// repository's URLs, but the project names none; data: URIs work offline, in the installed extension.
// The screenshots in docs/images/ are the e2e tests' pictures in test-artifacts/e2e/, reduced with
// `pngquant --strip`: problems, hover, run-counts <- extension-{problems,hover,run-counts}-crop (extension.test.ts);
// redirect-dropped, packet-filter, packet-filter-error, verdict-diff <- outcome-redirect-dropped-crop,
// outcome-filter-crop, outcome-filter-error-crop, verdict-diff-crop (outcome.test.ts); packet-view <-
// packet-view-crop; run-summary <- run-summary-crop; maps-view <- maps-view-crop; debug-packet <- debug-packet.
// Usage: node docs/build-extension-readme.mjs [SOURCE] [OUT]
import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = dirname(fileURLToPath(import.meta.url));
const source = resolve(process.argv[2] ?? join(docs, 'extension-README.md'));
const out = resolve(process.argv[3] ?? join(docs, '..', 'dist', 'extension-README.md'));
const MAX_IMAGE_BYTES = 200 * 1024;

const lines = readFileSync(source, 'utf8').split('\n');
let images = 0;
let bytes = 0;
const built = lines.map((line, i) =>
  line.replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (_all, alt, link) => {
    const where = `${source}:${i + 1}`;
    if (/^[a-z]+:/i.test(link)) throw new Error(`${where}: image ${link} is not a file beside the README; use a path under docs/images/`);
    if (!/\.png$/i.test(link)) throw new Error(`${where}: image ${link} is not a PNG (vsce refuses SVG, and the details view needs a raster image)`);
    const file = resolve(dirname(source), link);
    let size;
    try {
      size = statSync(file).size;
    } catch {
      throw new Error(`${where}: image ${link} does not exist (looked for ${file})`);
    }
    if (size > MAX_IMAGE_BYTES) throw new Error(`${where}: image ${link} is ${size} bytes; keep screenshots under ${MAX_IMAGE_BYTES} (crop, or pngquant)`);
    images++;
    bytes += size;
    return `![${alt}](data:image/png;base64,${readFileSync(file).toString('base64')})`;
  }),
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, built.join('\n'));
console.log(`${out}: ${images} images inlined (${Math.round(bytes / 1024)} KiB) from ${source}`);
