// The engine in a Web Worker (limited.js terminates it when a scan reaches the time
// limit). It gets the compiled module and, when one is installed, the pack's files.
import { loadEngine } from "./engine.mjs";

let engine = null;
onmessage = async ({ data }) => {
  if (data.init) {
    try {
      engine = await loadEngine(data.module);
      const loaded = data.pack ? engine.loadPack(data.pack.files, data.pack.now_ms, data.pack.patched) : null;
      postMessage({ ready: true, loaded });
    } catch (e) {
      postMessage({ ready: false, error: e.message });
    }
    return;
  }
  const started = performance.now();
  const verdict = engine.scanBytes(data.bytes);
  postMessage({ id: data.id, verdict, ms: performance.now() - started });
};
