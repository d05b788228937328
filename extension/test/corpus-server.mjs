// Serves the corpus pages at their own URLs: Chromium maps every host name to this server
// (--host-resolver-rules), which answers HTTPS (a throwaway self-signed certificate) and
// plain HTTP on one port, and looks each request up by host, path and query in the corpus
// manifest. Anything else is 404.
//   startCorpusServer(corpusDir) -> {port, close(), pages}
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";
import { createServer as createNet } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function startCorpusServer(corpusDir) {
  const pages = JSON.parse(readFileSync(join(corpusDir, "manifest.json"), "utf8"));
  const byAddress = new Map();
  for (const page of pages) {
    const url = new URL(page.url);
    byAddress.set(`${url.host}${url.pathname}${url.search}`, page);
  }
  const keys = mkdtempSync(join(tmpdir(), "ferretwatch-tls-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ferretwatch-corpus",
    "-keyout", join(keys, "key.pem"), "-out", join(keys, "cert.pem"),
  ], { stdio: "ignore" });
  const handler = (req, res) => {
    const page = byAddress.get(`${req.headers.host}${req.url}`);
    if (!page) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not in the corpus");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(readFileSync(join(corpusDir, page.file)));
  };
  const https = createHttps({ key: readFileSync(join(keys, "key.pem")), cert: readFileSync(join(keys, "cert.pem")) }, handler);
  const http = createHttp(handler);
  // One port for both: a TLS handshake starts with 0x16.
  const front = createNet((socket) => {
    socket.on("error", () => {});
    socket.once("readable", () => {
      const first = socket.read(1);
      if (!first) return socket.destroy();
      socket.unshift(first);
      (first[0] === 0x16 ? https : http).emit("connection", socket);
    });
  });
  await new Promise((resolve) => front.listen(0, "127.0.0.1", resolve));
  return {
    port: front.address().port,
    pages,
    close() {
      front.close();
      rmSync(keys, { recursive: true, force: true });
    },
  };
}
