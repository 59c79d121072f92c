/**
 * A local caller that sends a request's headers and then drips or stalls its body must not
 * hold a proxy connection (and up to 10 MiB of it) for ever: past `requestTimeout` it gets a
 * 408 and the connection is closed.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../mod.ts";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

/** Sends `head` and `body`, then reads until the proxy closes (or 4 s pass). */
const exchange = async (port: number, text: string): Promise<string> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const guard = setTimeout(() => conn.close(), 4_000);
  let out = "";
  try {
    await conn.write(new TextEncoder().encode(text));
    const buf = new Uint8Array(4096);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    // closed by the guard
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
  return out;
};

Deno.test("serveProxy() answers 408 and closes when a request body stalls past requestTimeout", async () => {
  const router = await startTestRouter();
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
  const proxy = await serveProxy({ handler: client.fetch, port: 0, requestTimeout: 300 });
  try {
    const started = Date.now();
    const answer = await exchange(
      proxy.port,
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
    );
    assert.match(answer, /^HTTP\/1\.1 408 /, `got ${JSON.stringify(answer.slice(0, 80))}`);
    assert.match(answer, /did not arrive within 300 ms/);
    assert.ok(Date.now() - started < 3_500, "the proxy closed the connection itself");
    assert.equal(router.requests.length, 0, "nothing was sent to the router");
  } finally {
    await proxy.close();
    await client.dispose();
    await router.close();
  }
});

Deno.test("serveProxy() refuses a requestTimeout that is not a positive number", async () => {
  for (const requestTimeout of [0, -1, Number.NaN, Infinity]) {
    await assert.rejects(
      serveProxy({ handler: () => Promise.resolve(new Response()), requestTimeout }),
      (e: unknown) => e instanceof TypeError && /requestTimeout/.test(e.message),
    );
  }
});
