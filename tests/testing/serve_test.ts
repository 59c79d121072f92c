import assert from "node:assert/strict";
import { parseServeArgs, runServe } from "../../src/testing/serve.ts";

Deno.test("parseServeArgs() reads port, key size, API key and flags", () => {
  assert.deepEqual(parseServeArgs([]), {
    port: 0,
    keySize: 2048,
    tpm: false,
    log: false,
    cors: false,
  });
  assert.deepEqual(
    parseServeArgs(["--port", "8080", "--key-size=4096", "--api-key", "k=1", "--tpm", "--log"]),
    { port: 8080, keySize: 4096, apiKey: "k=1", tpm: true, log: true, cors: false },
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
      ["--cors="],
      ["--cors=https://a.example/"],
      ["--cors=https://a.example,*"],
      ["--cors", "https://a.example"],
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

Deno.test("parseServeArgs() reads --cors as any origin, or a list of origins", () => {
  assert.equal(parseServeArgs(["--cors"]).cors, true);
  assert.equal(parseServeArgs(["--cors=*"]).cors, true);
  assert.deepEqual(parseServeArgs(["--cors=https://a.example, http://127.0.0.1:5173"]).cors, [
    "https://a.example",
    "http://127.0.0.1:5173",
  ]);
  assert.throws(
    () => parseServeArgs(["--cors=https://a.example/app"]),
    /^TypeError: Cannot parse arguments: --cors origin "https:\/\/a.example\/app" is not an origin/,
  );
});

Deno.test("runServe() with --cors answers a browser's preflight", async () => {
  const controller = new AbortController();
  let listening: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => listening = resolve);
  const done = runServe(["--cors=http://127.0.0.1:5173"], controller.signal, (line) => {
    listening(line.replace("listening on ", ""));
  });
  try {
    const base = await url;
    const response = await fetch(`${base}/v1/chat/secure_completion`, {
      method: "OPTIONS",
      headers: { Origin: "http://127.0.0.1:5173", "Access-Control-Request-Method": "POST" },
    });
    await response.body?.cancel();
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "http://127.0.0.1:5173");
    assert.match(response.headers.get("access-control-allow-headers") ?? "", /X-Public-Key/);
  } finally {
    controller.abort();
    await done;
  }
});
