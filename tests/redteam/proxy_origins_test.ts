/**
 * `allowedOrigins` entries a browser can never send (a trailing slash, a path, a wildcard)
 * used to be accepted and then match nothing; `"null"` matched every sandboxed frame and
 * `file://` page of any site. Each is a `TypeError` when the proxy starts. The origins that are
 * allowed are served, with CORS headers and preflight answers; any other page is refused.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { serveProxy } from "../../src/proxy/proxy.ts";

const seen: string[] = [];
const handler = (request: Request) => {
  seen.push(request.method);
  return Promise.resolve(Response.json({ served: true }));
};

for (
  const [entry, hint] of [
    ["http://localhost:3000/", 'did you mean "http://localhost:3000"'],
    ["https://app.example/chat", 'did you mean "https://app.example"'],
    ["*", "not an origin"],
    ["localhost:3000", "not an origin"],
    ["null", "sandboxed"],
  ]
) {
  Deno.test(`serveProxy() refuses allowedOrigins entry ${entry}`, async () => {
    await assert.rejects(
      serveProxy({ handler, allowedOrigins: [entry!] }),
      (e: unknown) => e instanceof TypeError && e.message.includes(hint!),
    );
  });
}

/** A request with the headers a browser page sends (fetch will not forge Origin). */
const send = (
  port: number,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method, path: "/v1/chat/completions", headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });

Deno.test("serveProxy() serves exactly its allowedOrigins, with CORS headers and preflights", async () => {
  const allowed = ["http://localhost:3000", "https://app.example", "http://[::1]:8080"];
  const proxy = await serveProxy({ handler, allowedOrigins: allowed });
  try {
    for (const origin of allowed) {
      seen.length = 0;
      const preflight = await send(proxy.port, "OPTIONS", {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization, x-stainless-os",
      });
      assert.equal(preflight.status, 204, origin);
      assert.equal(preflight.headers["access-control-allow-origin"], origin);
      assert.match(String(preflight.headers["access-control-allow-methods"]), /POST/);
      assert.equal(
        preflight.headers["access-control-allow-headers"],
        "content-type, authorization, x-stainless-os",
      );
      const answer = await send(proxy.port, "POST", { origin, "content-type": "application/json" });
      assert.equal(answer.status, 200, origin);
      assert.equal(answer.headers["access-control-allow-origin"], origin);
      assert.match(String(answer.headers["access-control-expose-headers"]), /x-request-id/);
      assert.deepEqual(JSON.parse(answer.body), { served: true });
      assert.deepEqual(seen, ["POST"], "the preflight is the proxy's, the POST the handler's");
    }
    seen.length = 0;
    for (const origin of ["https://evil.example", "null", "http://localhost:3001"]) {
      const preflight = await send(proxy.port, "OPTIONS", {
        origin,
        "access-control-request-method": "POST",
      });
      assert.equal(preflight.status, 403, origin);
      assert.equal(preflight.headers["access-control-allow-origin"], undefined);
      const refused = await send(proxy.port, "POST", { origin });
      assert.equal(refused.status, 403, origin);
      assert.equal(JSON.parse(refused.body).error.code, "origin_refused");
    }
    assert.deepEqual(seen, [], "no foreign page reached the handler");
  } finally {
    await proxy.close();
  }
});
