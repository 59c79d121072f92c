import assert from "node:assert/strict";
import { parseServeArgs, runServe } from "../../src/testing/serve.ts";

Deno.test("parseServeArgs() reads port, key size, API key and flags", () => {
  assert.deepEqual(parseServeArgs([]), { port: 0, keySize: 2048, tpm: false, log: false });
  assert.deepEqual(
    parseServeArgs(["--port", "8080", "--key-size=4096", "--api-key", "k=1", "--tpm", "--log"]),
    { port: 8080, keySize: 4096, apiKey: "k=1", tpm: true, log: true },
  );
  for (
    const bad of [
      ["--port"],
      ["--port", "-1"],
      ["--port", "65536"],
      ["--port", "8o"],
      ["--key-size", "1024"],
      ["--verbose"],
      ["8080"],
    ]
  ) {
    assert.throws(() => parseServeArgs(bad), TypeError, bad.join(" "));
  }
});

Deno.test("runServe() prints exactly the listening line, serves, and stops on abort", async () => {
  const lines: string[] = [];
  const controller = new AbortController();
  let listening: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => listening = resolve);
  const done = runServe(["--port", "0", "--api-key", "k"], controller.signal, (line) => {
    lines.push(line);
    listening(line.replace("listening on ", ""));
  });
  const base = await url;
  assert.match(lines[0]!, /^listening on http:\/\/127\.0\.0\.1:\d+$/);
  const response = await fetch(`${base}/pki/public_key`);
  assert.match(await response.text(), /^-----BEGIN PUBLIC KEY-----/);
  const unauthorized = await fetch(`${base}/v1/chat/secure_completion`, { method: "POST" });
  assert.equal(unauthorized.status, 401);
  await unauthorized.body?.cancel();
  controller.abort();
  await done;
  assert.equal(lines.length, 1);
  await assert.rejects(fetch(`${base}/pki/public_key`));
});
