// The WebAssembly engine with a real time limit. The module has no clock, so YARA cannot
// time itself: each scan runs in a worker, and a scan still running at the limit is ended
// by terminating the worker. The page is then scanned again without YARA (the verdict says
// `partial`), and a fresh worker takes over. A browser host does the same with a Web Worker.
import { Worker } from "node:worker_threads";

export class LimitedEngine {
  // `wasm`: the module's bytes; `limitMs`: the longest a scan may take; `yara`: optional
  // [{name, source}] replacing the built-in YARA rules.
  constructor(wasm, limitMs, yara = null) {
    this.wasm = wasm;
    this.limitMs = limitMs;
    this.yara = yara;
    this.next = 0;
    this.terminations = 0;
    this.queue = Promise.resolve();
  }

  async #worker() {
    if (!this.ready) {
      this.ready = new Promise((resolve, reject) => {
        const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
          workerData: { wasm: this.wasm, yara: this.yara },
        });
        worker.once("error", reject);
        worker.once("message", () => resolve(worker));
      });
    }
    return this.ready;
  }

  // The verdict JSON for `request`, within the limit (plus the time to start a worker).
  // Scans run one at a time, so each one's timer measures that scan alone.
  scanJson(request) {
    const result = this.queue.then(() => this.#scan(request));
    this.queue = result.catch(() => {});
    return result;
  }

  async #scan(request) {
    const worker = await this.#worker();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        worker.off("message", onMessage);
        resolve(message.verdict);
      };
      const timer = setTimeout(async () => {
        worker.off("message", onMessage);
        this.terminations++;
        this.ready = null;
        await worker.terminate();
        if (request.yara === false) {
          reject(new Error("the scan without YARA reached the time limit"));
          return;
        }
        this.#scan({ ...request, yara: false }).then(resolve, reject);
      }, this.limitMs);
      worker.on("message", onMessage);
      worker.postMessage({ id, request });
    });
  }

  async close() {
    if (this.ready) await (await this.ready).terminate();
  }
}
