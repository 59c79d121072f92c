/**
 * What a router answers is scrubbed before it is kept: the API key replaced by `[redacted]`
 * however the body spells it, headers holding it dropped, control characters escaped.
 */
import assert from "node:assert/strict";
import { detailOf, parseErrorBody, responseHeaders } from "../../src/transport/secret_scrubbing.ts";

const KEY = "sk-secret-key";
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

Deno.test("responseHeaders() keeps what the router sent, minus cookies, long values and secrets", () => {
  const kept = responseHeaders({
    "X-Request-Id": "req_123",
    "set-cookie": "session=abc",
    "x-echo": "Bearer sk-secret-key",
    "x-long": "a".repeat(5000),
    ["__proto__"]: "polluted",
    "retry-after": "3",
  }, ["sk-secret-key"]);
  assert.deepEqual(Object.keys(kept).sort(), ["__proto__", "retry-after", "x-request-id"].sort());
  assert.equal(Object.getPrototypeOf(kept), Object.prototype, "no prototype pollution");
  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`h${i}`, "v"]));
  assert.equal(Object.keys(responseHeaders(many)).length, 64);
});

Deno.test("parseErrorBody() replaces the API key in JSON strings and keys, escapes included", () => {
  const body = parseErrorBody(
    bytes(`{"detail":"bad key \\u0073k-secret-key","${KEY}":[1,"x ${KEY} y"]}`),
    [KEY],
  );
  assert.deepEqual(body, { detail: "bad key [redacted]", "[redacted]": [1, "x [redacted] y"] });
  assert.doesNotMatch(JSON.stringify(body), /sk-secret/);
});

Deno.test("parseErrorBody() scrubs and cuts a text body; an empty secret changes nothing", () => {
  assert.equal(parseErrorBody(bytes(`<h1>${KEY}</h1>`), [KEY]), "<h1>[redacted]</h1>");
  assert.equal(parseErrorBody(bytes("plain"), [""]), "plain");
  const long = parseErrorBody(bytes("x".repeat(2000)));
  assert.equal(long, `${"x".repeat(500)}…`);
});

Deno.test("detailOf() escapes control characters and bidirectional overrides, bounds its length", () => {
  assert.equal(
    detailOf({ detail: "a\nlevel=ERROR \u001b[31mred\u202e" }),
    "a\\u000alevel=ERROR \\u001b[31mred\\u202e",
  );
  assert.equal(detailOf({ detail: { code: "x\n" } }), '{"code":"x\\n"}');
  assert.equal(detailOf({ detail: "d".repeat(900) })?.length, 500);
  assert.equal(detailOf({}), undefined);
  assert.equal(detailOf("text"), undefined);
});
