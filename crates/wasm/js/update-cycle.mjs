// One update cycle of a client that keeps its state and files in a directory, with the
// updater compiled to WebAssembly and Node's fetch(): what the browser extension does with
// chrome.storage. Prints the outcome and the status as JSON.
//   node update-cycle.mjs ferretwatch_wasm.wasm root.json MIRROR_URL CLIENT_DIR
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadEngine } from "./engine.mjs";

const [wasmPath, rootPath, mirror, dir] = process.argv.slice(2);
const engine = await loadEngine(readFileSync(wasmPath));
const { updater } = engine;
mkdirSync(join(dir, "files"), { recursive: true });
const statePath = join(dir, "state.json");
const persisted = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : null;
const created = updater.create({
  mirrors: [mirror],
  install_id: "node-client",
  root: readFileSync(rootPath, "utf8"),
  persisted,
});
if (!created.ok) throw new Error(JSON.stringify(created));

const now = Date.now();
let step = updater.start(now);
let requests = 0;
for (;;) {
  if (step.fetch) {
    requests++;
    const headers = step.fetch.etag ? { "If-None-Match": step.fetch.etag } : {};
    let status = 0, etag = null, retryAfter = null, body = new Uint8Array();
    try {
      const response = await fetch(step.fetch.url, { headers });
      status = response.status;
      etag = response.headers.get("etag");
      retryAfter = Number(response.headers.get("retry-after")) || null;
      if (status === 200) body = new Uint8Array(await response.arrayBuffer()).slice(0, step.fetch.limit + 1);
    } catch {
      status = 0;
    }
    step = updater.handle(now, status, etag, retryAfter, body);
  } else if (step.read_base) {
    step = updater.baseRead(now);
  } else if (step.install) {
    // Stage beside the running files, then swap: kept files stay, fetched ones are new.
    const staging = join(dir, "staging");
    rmSync(staging, { recursive: true, force: true });
    for (const name of step.install.kept) {
      const to = join(staging, name);
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, readFileSync(join(dir, "files", name)));
    }
    for (const name of step.install.fetched) {
      const to = join(staging, name);
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, updater.stagedFile(name));
    }
    rmSync(join(dir, "previous"), { recursive: true, force: true });
    renameSync(join(dir, "files"), join(dir, "previous"));
    renameSync(staging, join(dir, "files"));
    step = { done: updater.installed(now, null) };
  } else {
    break;
  }
}
writeFileSync(statePath, JSON.stringify(updater.persisted()));
// The installed pack builds the engine, as the extension loads it.
let loaded = null;
const files = {};
const walk = (at, prefix) => {
  for (const entry of readdirSync(at, { withFileTypes: true })) {
    if (entry.isDirectory()) walk(join(at, entry.name), `${prefix}${entry.name}/`);
    else files[`${prefix}${entry.name}`] = readFileSync(join(at, entry.name));
  }
};
walk(join(dir, "files"), "");
if (files["manifest.json"]) loaded = engine.loadPack(files, now).pack_version;
process.stdout.write(JSON.stringify({ outcome: step.done, status: updater.status(now), loaded, requests }) + "\n");
