/**
 * serveHttp(): the one node:http ↔ fetch bridge. Its deadlines are driven with short
 * configured timeouts and asserted as closures (the guard only stops a test that would hang).
 */
import assert from "node:assert/strict";
import { type HttpHandler, type Refusal, serveHttp } from "../../src/server/http_server.ts";
import { parseAnswer, rawConnect } from "./_raw.ts";

/** Past this a connection the bridge should have closed counts as left open. Below node:http's
 * own 5 s keep-alive default, so the bridge's deadlines are what is tested. */
const GUARD_MS = 3_000;

const start = (
  handler: HttpHandler = () => Promise.resolve(new Response("ok")),
  overrides: Partial<Parameters<typeof serveHttp>[1]> = {},
) => {
  const refusals: Refusal[] = [];
  return serveHttp(handler, {
    hostname: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024,
    headersTimeout: 200,
    idleTimeout: 200,
    bodyTimeout: 300,
    refuse: (refusal) => {
      refusals.push(refusal);
      return Response.json({ refused: refusal.status, message: refusal.message }, {
        status: refusal.status,
      });
    },
    ...overrides,
  }).then((server) => ({ server, refusals }));
};

Deno.test("serveHttp() closes connections that never finish their request head (slowloris)", async () => {
  const { server } = await start();
  try {
    const partials = [
      "",
      "POST /v1/chat/completions HTTP/1.1\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n",
      "GET / HTT",
    ];
    const conns = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const conn = await rawConnect(server.port);
        await conn.write(partials[i % partials.length]!);
        return conn;
      }),
    );
    const outcomes = await Promise.all(conns.map((c) => c.closed(GUARD_MS)));
    assert.deepEqual(outcomes.filter((o) => !o.closedByServer), [], "every one closed");
    assert.ok(outcomes.every((o) => o.received === ""), "closed unanswered");
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() closes kept-alive connections left idle after an answer", async () => {
  const { server } = await start();
  try {
    const conns = await Promise.all(Array.from({ length: 20 }, () => rawConnect(server.port)));
    for (const conn of conns) {
      await conn.write("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
    }
    const outcomes = await Promise.all(conns.map((c) => c.closed(GUARD_MS)));
    assert.deepEqual(outcomes.filter((o) => !o.closedByServer), []);
    for (const o of outcomes) assert.equal(parseAnswer(o.received).status, 200, "answered first");
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() keeps serving a kept-alive connection that sends its next request", async () => {
  const { server } = await start(() => Promise.resolve(new Response("ok")), {
    idleTimeout: 2_000,
    headersTimeout: 2_000,
  });
  try {
    const conn = await rawConnect(server.port);
    const get = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    await conn.write(get);
    await conn.write(get);
    await conn.write("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const outcome = await conn.closed(GUARD_MS);
    assert.equal(outcome.received.match(/HTTP\/1\.1 200/g)?.length, 3);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() refuses a chunked body over the cap with refuse(413), answered", async () => {
  const { server, refusals } = await start();
  try {
    const conn = await rawConnect(server.port);
    await conn.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = "x".repeat(512);
    for (let i = 0; i < 8 && !conn.isClosed; i++) {
      await conn.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    }
    const outcome = await conn.closed(GUARD_MS);
    const answer = parseAnswer(outcome.received);
    assert.equal(answer.status, 413, JSON.stringify(outcome.received.slice(0, 80)));
    assert.equal(JSON.parse(answer.body).refused, 413);
    assert.match(answer.headers, /\r\nconnection: close/i);
    assert.equal(outcome.closedByServer, true);
    assert.deepEqual(refusals.map((r) => [r.status, r.method, r.target]), [
      [413, "POST", "/v1/chat/completions"],
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() refuses a declared length over the cap before reading", async () => {
  let called = 0;
  const { server } = await start(() => {
    called++;
    return Promise.resolve(new Response("ok"));
  });
  try {
    const response = await fetch(`${server.url}/x`, { method: "POST", body: "y".repeat(2048) });
    assert.equal(response.status, 413);
    await response.body?.cancel();
    assert.equal(called, 0);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() answers refuse(408) and closes when a body stalls past bodyTimeout", async () => {
  const { server, refusals } = await start();
  try {
    const conn = await rawConnect(server.port);
    await conn.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{",
    );
    const outcome = await conn.closed(GUARD_MS);
    assert.equal(parseAnswer(outcome.received).status, 408);
    assert.equal(outcome.closedByServer, true);
    assert.deepEqual(refusals.map((r) => r.status), [408]);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() refuses methods a Request cannot carry (TRACE) with refuse(405)", async () => {
  const { server, refusals } = await start();
  try {
    const conn = await rawConnect(server.port);
    await conn.write(
      "TRACE /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    const outcome = await conn.closed(GUARD_MS);
    assert.equal(parseAnswer(outcome.received).status, 405);
    assert.deepEqual(refusals.map((r) => [r.status, r.method]), [[405, "TRACE"]]);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() gives the handler the request as sent and writes its answer back", async () => {
  const seen: Array<[string, string, string, string | null, string | null]> = [];
  const { server } = await start(async (request) => {
    seen.push([
      request.method,
      request.url,
      await request.text(),
      request.headers.get("x-test"),
      request.headers.get("transfer-encoding"),
    ]);
    return new Response("answer", { status: 201, headers: { "x-out": "1" } });
  });
  try {
    const response = await fetch(`${server.url}/a/b?c=d`, {
      method: "POST",
      headers: { "x-test": "yes" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("he"));
          c.enqueue(new TextEncoder().encode("llo"));
          c.close();
        },
      }),
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-out"), "1");
    assert.equal(await response.text(), "answer");
    assert.deepEqual(seen, [["POST", `${server.url}/a/b?c=d`, "hello", "yes", null]]);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() cuts the connection on Response.error() and answers refuse(500) on a rejection", async () => {
  const { server, refusals } = await start((request) =>
    new URL(request.url).pathname === "/cut"
      ? Promise.resolve(Response.error())
      : Promise.reject(new Error("secret-canary"))
  );
  try {
    await assert.rejects(fetch(`${server.url}/cut`));
    const failed = await fetch(`${server.url}/boom`);
    assert.equal(failed.status, 500);
    assert.doesNotMatch(await failed.text(), /secret-canary/);
    assert.deepEqual(refusals.map((r) => r.status), [500]);
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() aborts the request's signal when the caller goes away, and on close()", async () => {
  const signals: AbortSignal[] = [];
  const { server } = await start((request) => {
    signals.push(request.signal);
    return new Promise((resolve) =>
      request.signal.addEventListener("abort", () => resolve(new Response("late")))
    );
  }, { idleTimeout: 5_000, headersTimeout: 5_000 });
  try {
    const controller = new AbortController();
    const pending = fetch(`${server.url}/wait`, { signal: controller.signal });
    while (signals.length < 1) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(pending);
    while (!signals[0]!.aborted) await new Promise((r) => setTimeout(r, 10));
    const second = fetch(`${server.url}/wait`).catch((e) => e);
    while (signals.length < 2) await new Promise((r) => setTimeout(r, 10));
    const closing = server.close();
    assert.equal(server.close(), closing, "idempotent");
    await closing;
    assert.equal(signals[1]!.aborted, true);
    assert.ok((await second) instanceof Error, "in flight: cut, not answered");
  } finally {
    await server.close();
  }
});

Deno.test("serveHttp() refuses bad timeouts and ports with a TypeError", async () => {
  for (
    const bad of [{ headersTimeout: 0 }, { idleTimeout: -1 }, { bodyTimeout: NaN }, {
      port: 70_000,
    }]
  ) {
    await assert.rejects(start(undefined, bad), TypeError, JSON.stringify(bad));
  }
});
