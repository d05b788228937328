// Scans every page of the corpus manifest with the WebAssembly engine and prints one
// verdict per line, in manifest order, as `ferretwatch scan --format json` would.
//   node corpus.mjs ferretwatch_wasm.wasm tests/corpus
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadEngine } from "./engine.mjs";

const [wasmPath, corpus] = process.argv.slice(2);
const engine = await loadEngine(readFileSync(wasmPath));
const manifest = JSON.parse(readFileSync(join(corpus, "manifest.json"), "utf8"));
const timings = [];
for (const page of manifest) {
  const html = readFileSync(join(corpus, page.file), "utf8");
  const started = process.hrtime.bigint();
  const verdict = engine.scanJson({ url: page.url, html });
  timings.push(Number(process.hrtime.bigint() - started) / 1e6);
  process.stdout.write(verdict + "\n");
}
timings.sort((a, b) => a - b);
const at = (q) => timings[Math.min(timings.length - 1, Math.floor(q * timings.length))].toFixed(2);
process.stderr.write(`${timings.length} pages: scan median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms\n`);
