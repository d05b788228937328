// The engine with a real time limit, in the browser. The module has no clock, so YARA
// cannot time itself: each scan runs in a Web Worker, and a scan still running at the
// limit is ended by terminating the worker. The page is then scanned again without YARA
// (the verdict says `partial`), and a fresh worker takes over. Scans run one at a time,
// so each timer measures one scan. (The Node twin is crates/wasm/js/limited.mjs.)
const encoder = new TextEncoder();

export class LimitedEngine {
  // `module`: the compiled WebAssembly.Module; `limitMs`: the longest a scan may take.
  constructor(module, limitMs) {
    this.module = module;
    this.limitMs = limitMs;
    this.pack = null;
    this.next = 0;
    this.terminations = 0;
    this.ready = null;
    this.queue = Promise.resolve();
  }

  // Starts a worker with `pack` ({files, now_ms, patched}) and, once it has loaded it,
  // makes it the one that scans. Throws (keeping the running worker) when the pack is
  // refused. Answers what the engine said of the pack.
  async load(pack) {
    const { worker, loaded } = await this.#start(pack);
    const old = this.ready;
    this.pack = pack;
    this.ready = Promise.resolve(worker);
    if (old) (await old.catch(() => null))?.terminate();
    return loaded;
  }

  #start(pack) {
    return new Promise((resolve, reject) => {
      const worker = new Worker("engine-worker.js", { type: "module" });
      worker.onmessage = ({ data }) => {
        worker.onmessage = null;
        if (data.ready) resolve({ worker, loaded: data.loaded });
        else {
          worker.terminate();
          reject(new Error(data.error));
        }
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(new Error(e.message || "the engine worker failed to start"));
      };
      worker.postMessage({ init: true, module: this.module, pack });
    });
  }

  #worker() {
    this.ready ??= this.#start(this.pack).then(({ worker }) => worker);
    return this.ready;
  }

  // {verdict (the JSON text), ms (the engine's time), terminated}
  scan(request) {
    const result = this.queue.then(() => this.#scan(request));
    this.queue = result.catch(() => {});
    return result;
  }

  async #scan(request) {
    const worker = await this.#worker();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.removeEventListener("message", onMessage);
        worker.terminate();
        this.terminations++;
        this.ready = null;
        if (request.yara === false) {
          reject(new Error("the scan without YARA reached the time limit"));
          return;
        }
        this.#scan({ ...request, yara: false }).then((r) => resolve({ ...r, terminated: true }), reject);
      }, this.limitMs);
      const onMessage = ({ data }) => {
        if (data.id !== id) return;
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        resolve({ verdict: data.verdict, ms: data.ms, terminated: false });
      };
      worker.addEventListener("message", onMessage);
      // The request as bytes, moved rather than copied into the worker.
      const bytes = encoder.encode(JSON.stringify(request));
      worker.postMessage({ id, bytes }, [bytes.buffer]);
    });
  }
}
