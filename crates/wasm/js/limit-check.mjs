// A YARA scan that would run far past its limit is ended at the limit: the worker is
// terminated, the page is scanned again without YARA, and the verdict says `partial`.
//   node limit-check.mjs ferretwatch_wasm.wasm
import { readFileSync } from "node:fs";
import { LimitedEngine } from "./limited.mjs";

const fail = (message) => {
  process.stderr.write(`FAILED: ${message}\n`);
  process.exit(1);
};
// A condition quadratic in the scanned size: instant on a tiny page, hours on a big one.
const slow = [
  {
    name: "slow.yar",
    source:
      "rule slow : phishing_kit high { condition: for all i in (0..filesize) : " +
      "(for all j in (0..filesize) : (i + j >= 0)) }",
  },
];
const limitMs = 300;
const engine = new LimitedEngine(readFileSync(process.argv[2]), limitMs, slow);
const fast = JSON.parse(await engine.scanJson({ url: "https://example.com/", html: "<p>hello</p>" }));
if (fast.partial) fail("a small page should be scanned in full");
const started = Date.now();
const verdict = JSON.parse(await engine.scanJson({ url: "https://example.com/", html: "ab".repeat(200_000) }));
const took = Date.now() - started;
if (!verdict.partial) fail("the slow scan should end partial");
if (engine.terminations !== 1) fail(`expected one termination, got ${engine.terminations}`);
if (took > limitMs + 5000) fail(`the slow scan took ${took} ms`);
const after = JSON.parse(await engine.scanJson({ url: "https://example.com/", html: "<p>again</p>" }));
if (after.partial) fail("a fresh worker should scan in full after a termination");
await engine.close();
process.stdout.write(`ok: a runaway YARA scan was ended at ${limitMs} ms (${took} ms with the rescan), verdict partial\n`);
