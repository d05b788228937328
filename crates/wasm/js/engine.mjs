// Loads ferretwatch_wasm.wasm and calls its C ABI (docs/wasm.md): JSON in, JSON out. Works
// in Node and in a browser extension's service worker (pass the module's bytes).
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function loadEngine(wasmBytes) {
  const { instance } = await WebAssembly.instantiate(wasmBytes, {});
  const fw = instance.exports;

  // Copies `bytes` into the module, calls `fn(ptr, len)` (which frees them), and reads
  // and frees the answer it returns as `pointer << 32 | length`.
  function call(fn, bytes) {
    const ptr = fw.fw_alloc(bytes.length);
    new Uint8Array(fw.memory.buffer, ptr, bytes.length).set(bytes);
    const packed = fn(ptr, bytes.length);
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const text = decoder.decode(new Uint8Array(fw.memory.buffer, outPtr, outLen));
    fw.fw_free(outPtr, outLen);
    return text;
  }

  return {
    // The verdict JSON, exactly as `ferretwatch scan --format json` prints it.
    scanJson(request) {
      return call(fw.fw_scan, encoder.encode(JSON.stringify(request)));
    },
    // Replaces the built-in rules; throws with the engine's message when they are refused.
    loadRules(rulesText) {
      const answer = JSON.parse(call(fw.fw_load_rules, encoder.encode(rulesText)));
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    },
    // Replaces the YARA rules with [{name, source}]; throws when they do not compile.
    loadYara(sources) {
      const answer = JSON.parse(call(fw.fw_load_yara, encoder.encode(JSON.stringify(sources))));
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    },
  };
}
