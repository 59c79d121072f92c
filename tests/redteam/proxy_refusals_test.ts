/**
 * What the proxy refuses, each in OpenAI's error shape: a chunked body over the 10 MiB cap
 * (the red team got a bare `400 Bad Request`), a method it does not serve (`TRACE` answered
 * "Cannot reach router"), and a handler that fails without the client's answering entry
 * (answered without reading the thrown error's cause).
 */
import assert from "node:assert/strict";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { MAX_PLAINTEXT_BYTES } from "../../src/protocol/headers.ts";
import { NomyoError } from "../../src/errors.ts";
import { withClient } from "../openai/_setup.ts";
import { parseAnswer, rawConnect } from "../server/_raw.ts";

const GUARD_MS = 10_000;

Deno.test("serveProxy() answers a chunked body over 10 MiB with 413 PayloadTooLarge, as client.fetch does", async () => {
  await withClient(async (client, router) => {
    const proxy = await serveProxy({ handler: client.fetch });
    try {
      const conn = await rawConnect(proxy.port);
      await conn.write(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      );
      const chunk = "x".repeat(64 * 1024);
      const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      for (let sent = 0; sent <= MAX_PLAINTEXT_BYTES + chunk.length && !conn.isClosed;) {
        await conn.write(frame);
        sent += chunk.length;
      }
      const outcome = await conn.closed(GUARD_MS);
      const answer = parseAnswer(outcome.received);
      assert.equal(answer.status, 413, JSON.stringify(outcome.received.slice(0, 100)));
      const error = JSON.parse(answer.body).error;
      assert.equal(error.code, "PayloadTooLarge");
      assert.equal(error.type, "invalid_request_error");
      assert.equal(outcome.closedByServer, true);
      // The same answer from the handler itself.
      const direct = await client.fetch("http://x.invalid/v1/chat/completions", {
        method: "POST",
        body: new Uint8Array(MAX_PLAINTEXT_BYTES + 1),
      });
      assert.equal(direct.status, 413);
      assert.deepEqual((await direct.json()).error, error);
      assert.equal(router.requests.length, 0, "nothing reached the router");
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("serveProxy() answers other methods 405 on the endpoint and 404 elsewhere, in OpenAI's shape", async () => {
  await withClient(async (client, router) => {
    const proxy = await serveProxy({ handler: client.fetch });
    try {
      const cases: Array<[string, string, number]> = [
        ["TRACE", "/v1/chat/completions", 405],
        ["GET", "/v1/chat/completions", 405],
        ["PUT", "/v1/chat/completions", 405],
        ["DELETE", "/v1/chat/completions", 405],
        ["TRACE", "/v1/models", 404],
        ["PUT", "/", 404],
      ];
      for (const [method, path, status] of cases) {
        const conn = await rawConnect(proxy.port);
        await conn.write(
          `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        );
        const answer = parseAnswer((await conn.closed(GUARD_MS)).received);
        assert.equal(answer.status, status, `${method} ${path}`);
        const error = JSON.parse(answer.body).error;
        assert.equal(error.code, status === 405 ? "method_not_allowed" : "not_found", method);
        assert.doesNotMatch(error.message, /reach router/);
        if (status === 405) assert.match(answer.headers, /\r\nallow: POST, OPTIONS\r\n/i);
      }
      assert.equal(router.requests.length, 0);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("serveProxy() answers a failing handler 502 without reading what it threw", async () => {
  const hidden = new NomyoError({ message: "a message the proxy must not unwrap" });
  const proxy = await serveProxy({
    handler: () => Promise.reject(new TypeError("fetch failed", { cause: hidden })),
  });
  try {
    const response = await fetch(`${proxy.url}/chat/completions`, { method: "POST", body: "{}" });
    assert.equal(response.status, 502);
    assert.equal(response.headers.get("x-should-retry"), "false");
    const error = (await response.json()).error;
    assert.equal(error.message, "Cannot reach router");
    assert.equal(error.code, null);
  } finally {
    await proxy.close();
  }
});

Deno.test("client.fetch still rejects as fetch does when the router cannot be reached", async () => {
  await withClient(async (client, router) => {
    await router.close();
    await assert.rejects(
      client.fetch("http://x.invalid/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "a" }] }),
      }),
      (e: unknown) => e instanceof TypeError && e.message === "fetch failed",
    );
  });
});
