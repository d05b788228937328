// The engine inside a worker thread (limited.mjs runs it and terminates it at the limit).
import { parentPort, workerData } from "node:worker_threads";
import { loadEngine } from "./engine.mjs";

const engine = await loadEngine(workerData.wasm);
if (workerData.yara) engine.loadYara(workerData.yara);
parentPort.on("message", ({ id, request }) => {
  parentPort.postMessage({ id, verdict: engine.scanJson(request) });
});
parentPort.postMessage({ ready: true });
