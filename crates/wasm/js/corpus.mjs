// Scans every page of the corpus manifest with the WebAssembly engine (in a worker, with a
// time limit) and prints one verdict per line, in manifest order, as
// `ferretwatch scan --format json` would.
//   node corpus.mjs ferretwatch_wasm.wasm tests/corpus LIMIT_MS
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LimitedEngine } from "./limited.mjs";

const [wasmPath, corpus, limit] = process.argv.slice(2);
const engine = new LimitedEngine(readFileSync(wasmPath), Number(limit || 2000));
const manifest = JSON.parse(readFileSync(join(corpus, "manifest.json"), "utf8"));
const timings = [];
for (const page of manifest) {
  const html = readFileSync(join(corpus, page.file), "utf8");
  const started = process.hrtime.bigint();
  const verdict = await engine.scanJson({ url: page.url, html });
  timings.push(Number(process.hrtime.bigint() - started) / 1e6);
  process.stdout.write(verdict + "\n");
}
await engine.close();
timings.sort((a, b) => a - b);
const at = (q) => timings[Math.min(timings.length - 1, Math.floor(q * timings.length))].toFixed(2);
process.stderr.write(
  `${timings.length} pages: scan median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms ` +
    `(in a worker, messages included); ${engine.terminations} scan(s) ended at the limit\n`,
);
