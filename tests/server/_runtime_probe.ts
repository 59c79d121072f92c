/**
 * A runtime-neutral probe of the bridge's deadlines, for Node and Bun (bundle it:
 * `npx --yes deno@2 bundle --platform node -o /tmp/probe.mjs tests/server/_runtime_probe.ts`,
 * then `node /tmp/probe.mjs` / `npx --yes bun@1 /tmp/probe.mjs`). Prints one line per check and
 * exits 1 when one fails. Under Deno the same checks run in http_server_test.ts.
 */
import process from "node:process";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { serveHttp } from "../../src/server/http_server.ts";
import { parseAnswer, rawConnect } from "./_raw.ts";

const GUARD_MS = 3_000;
const server = await serveHttp((r) => Promise.resolve(new Response(`handled ${r.method}`)), {
  hostname: "127.0.0.1",
  port: 0,
  maxBodyBytes: 1024,
  headersTimeout: 200,
  idleTimeout: 200,
  bodyTimeout: 300,
  refuse: ({ status }) => new Response(`refused ${status}`, { status }),
});
const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Bun !== undefined
  ? "bun"
  : g.Deno !== undefined
  ? "deno"
  : `node ${process.version}`;
let failed = 0;
const check = (name: string, ok: boolean) => {
  if (!ok) failed++;
  console.log(`${runtime}: ${ok ? "ok  " : "FAIL"} ${name}`);
};

const slow = await Promise.all(Array.from({ length: 50 }, async () => {
  const c = await rawConnect(server.port);
  await c.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  return c;
}));
const slowOut = await Promise.all(slow.map((c) => c.closed(GUARD_MS)));
check("50 slowloris connections closed", slowOut.every((o) => o.closedByServer));

const idle = await Promise.all(Array.from({ length: 50 }, async () => {
  const c = await rawConnect(server.port);
  await c.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  return c;
}));
const idleOut = await Promise.all(idle.map((c) => c.closed(GUARD_MS)));
check(
  "50 idle keep-alive connections answered, then closed",
  idleOut.every((o) => o.closedByServer && parseAnswer(o.received).status === 200),
);

const chunked = await rawConnect(server.port);
await chunked.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
for (let i = 0; i < 8 && !chunked.isClosed; i++) {
  await chunked.write(`200\r\n${"x".repeat(512)}\r\n`);
}
const chunkedOut = await chunked.closed(GUARD_MS);
check("chunked body over the cap: 413, closed", parseAnswer(chunkedOut.received).status === 413);

const stalled = await rawConnect(server.port);
await stalled.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{");
const stalledOut = await stalled.closed(GUARD_MS);
check("stalled body: 408, closed", parseAnswer(stalledOut.received).status === 408);

const trace = await rawConnect(server.port);
await trace.write("TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
const traced = parseAnswer((await trace.closed(GUARD_MS)).received);
// Deno's and Node's Request refuse TRACE (the bridge answers 405); Bun's carries it.
check(
  `TRACE: ${traced.status === 405 ? "refused 405 by the bridge" : "given to the handler"}`,
  traced.status === 405 || traced.body === "handled TRACE",
);
const proxy = await serveProxy({
  handler: () => Promise.resolve(Response.json({})),
  headersTimeout: 200,
  idleTimeout: 200,
});
const proxyTrace = await rawConnect(proxy.port);
await proxyTrace.write(
  "TRACE /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
);
const proxied = parseAnswer((await proxyTrace.closed(GUARD_MS)).received);
check(
  "proxy: TRACE on the endpoint is 405 method_not_allowed",
  proxied.status === 405 && proxied.body.includes("method_not_allowed"),
);
const proxySlow = await rawConnect(proxy.port);
await proxySlow.write("POST /v1/chat/completions HTTP/1.1\r\n");
check("proxy: a slowloris connection closed", (await proxySlow.closed(GUARD_MS)).closedByServer);
await proxy.close();
await server.close();
process.exit(failed === 0 ? 0 : 1);
