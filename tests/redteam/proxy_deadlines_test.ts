/**
 * The red team's finding: 150 slowloris connections (a request head never finished) and 100
 * idle keep-alive connections to the proxy stayed open past 75 s. With `headersTimeout` and
 * `idleTimeout` the proxy closes both; driven here with 200 ms and asserted as closures (the
 * guard, below node:http's own 5 s keep-alive, only stops a test that would hang).
 */
import assert from "node:assert/strict";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { parseAnswer, rawConnect } from "../server/_raw.ts";

const GUARD_MS = 3_000;
const handler = () => Promise.resolve(Response.json({ ok: true }));

Deno.test("serveProxy() closes slowloris connections past headersTimeout", async () => {
  const proxy = await serveProxy({ handler, headersTimeout: 200, idleTimeout: 10_000 });
  try {
    const conns = await Promise.all(Array.from({ length: 150 }, async (_, i) => {
      const conn = await rawConnect(proxy.port);
      await conn.write(
        i % 2 === 0 ? "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" : "POST /v1/ch",
      );
      return conn;
    }));
    const outcomes = await Promise.all(conns.map((c) => c.closed(GUARD_MS)));
    assert.equal(outcomes.filter((o) => !o.closedByServer).length, 0, "all 150 closed");
  } finally {
    await proxy.close();
  }
});

Deno.test("serveProxy() closes idle keep-alive connections past idleTimeout", async () => {
  const proxy = await serveProxy({ handler, headersTimeout: 10_000, idleTimeout: 200 });
  try {
    const conns = await Promise.all(Array.from({ length: 100 }, () => rawConnect(proxy.port)));
    for (const conn of conns) {
      await conn.write(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}",
      );
    }
    const outcomes = await Promise.all(conns.map((c) => c.closed(GUARD_MS)));
    assert.equal(outcomes.filter((o) => !o.closedByServer).length, 0, "all 100 closed");
    assert.ok(outcomes.every((o) => parseAnswer(o.received).status === 200), "each answered first");
  } finally {
    await proxy.close();
  }
});

Deno.test("serveProxy() refuses a headersTimeout or idleTimeout that is not a positive number", async () => {
  for (const bad of [{ headersTimeout: 0 }, { idleTimeout: -5 }, { headersTimeout: NaN }]) {
    await assert.rejects(
      serveProxy({ handler, ...bad }),
      (e: unknown) => e instanceof TypeError && /Timeout must be a positive/.test(e.message),
    );
  }
});
