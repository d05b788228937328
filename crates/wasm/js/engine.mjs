// Loads ferretwatch_wasm.wasm and calls its C ABI (docs/wasm.md): JSON in, JSON out. Works
// in Node and in the browser extension's offscreen document and worker.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// `wasm`: the module's bytes, or a compiled WebAssembly.Module (which a browser host
// compiles once and hands to its worker, so both share the compiled code).
export async function loadEngine(wasm) {
  const instance = wasm instanceof WebAssembly.Module
    ? await WebAssembly.instantiate(wasm, {})
    : (await WebAssembly.instantiate(wasm, {})).instance;
  const fw = instance.exports;

  // Copies `bytes` into the module, calls `fn(ptr, len)` (which frees them), and reads
  // and frees the answer it returns as `pointer << 32 | length`.
  function call(fn, bytes) {
    const ptr = fw.fw_alloc(bytes.length) >>> 0;
    new Uint8Array(fw.memory.buffer, ptr, bytes.length).set(bytes);
    const packed = BigInt.asUintN(64, fn(ptr, bytes.length));
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const text = decoder.decode(new Uint8Array(fw.memory.buffer, outPtr, outLen));
    fw.fw_free(outPtr, outLen);
    return text;
  }

  function put(bytes) {
    const ptr = fw.fw_alloc(bytes.length) >>> 0;
    new Uint8Array(fw.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }
  function takeAnswer(answer) {
    const packed = BigInt.asUintN(64, answer);
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const bytes = new Uint8Array(fw.memory.buffer, outPtr, outLen).slice();
    fw.fw_free(outPtr, outLen);
    return bytes;
  }
  const json = (fn, request) => JSON.parse(call(fn, encoder.encode(JSON.stringify(request))));
  // Calls `fn(meta, body)`: `files` (name → bytes) as `{...request, files: [{name, size}]}`
  // and the files' bytes one after another, in name order.
  function withFiles(fn, request, files) {
    const names = Object.keys(files).sort();
    const meta = encoder.encode(JSON.stringify({ ...request, files: names.map((name) => ({ name, size: files[name].length })) }));
    const body = new Uint8Array(names.reduce((sum, name) => sum + files[name].length, 0));
    let at = 0;
    for (const name of names) {
      body.set(files[name], at);
      at += files[name].length;
    }
    return JSON.parse(decoder.decode(takeAnswer(fn(put(meta), meta.length, put(body), body.length))));
  }

  // The pack updater's state machine (docs/wasm.md): the host fetches and stores.
  const updater = {
    create: (config) => json(fw.fw_updater_new, config),
    start: (nowMs) => json(fw.fw_updater_start, { now_ms: nowMs }),
    handle(nowMs, status, etag, retryAfter, body) {
      const meta = encoder.encode(JSON.stringify({ now_ms: nowMs, status, etag, retry_after: retryAfter }));
      const metaPtr = put(meta);
      const bodyPtr = put(body);
      const answer = takeAnswer(fw.fw_updater_handle(metaPtr, meta.length, bodyPtr, body.length));
      return JSON.parse(decoder.decode(answer));
    },
    // Answers a read_base step with the base files this host has (name → bytes).
    baseRead: (nowMs, files = {}) => withFiles(fw.fw_updater_base_read, { now_ms: nowMs }, files),
    stagedFile(name) {
      const request = encoder.encode(JSON.stringify({ name }));
      return takeAnswer(fw.fw_updater_staged_file(put(request), request.length));
    },
    installed: (nowMs, error) => json(fw.fw_updater_installed, error ? { now_ms: nowMs, error } : { now_ms: nowMs }),
    persisted: () => json(fw.fw_updater_persisted, {}),
    status: (nowMs) => json(fw.fw_updater_status, { now_ms: nowMs }),
    // The bulletins to show on a page ({url, brands, locale}), recorded as shown.
    bulletins: (nowMs, page) => json(fw.fw_updater_bulletins, { now_ms: nowMs, ...page }),
  };

  return {
    updater,
    // The verdict JSON, exactly as `ferretwatch scan --format json` prints it.
    scanJson(request) {
      return call(fw.fw_scan, encoder.encode(JSON.stringify(request)));
    },
    // The same, for a request already encoded as UTF-8 JSON (a worker that was handed the
    // bytes need not decode and encode them again).
    scanBytes(bytes) {
      return call(fw.fw_scan, bytes);
    },
    // Replaces the built-in rules; throws with the engine's message when they are refused.
    loadRules(rulesText) {
      const answer = JSON.parse(call(fw.fw_load_rules, encoder.encode(rulesText)));
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    },
    // Replaces the engine with one built from an installed pack: `files` maps each name
    // to its bytes. Throws with the engine's message when the pack is refused.
    loadPack(files, nowMs, patched = {}) {
      const answer = withFiles(fw.fw_load_pack, { now_ms: nowMs, patched }, files);
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
      return answer;
    },
    // Replaces the YARA rules with [{name, source}]; throws when they do not compile.
    loadYara(sources) {
      const answer = JSON.parse(call(fw.fw_load_yara, encoder.encode(JSON.stringify(sources))));
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    },
  };
}
