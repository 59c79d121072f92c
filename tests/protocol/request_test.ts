import assert from "node:assert/strict";
import { Either } from "effect";
import { encodeRequest } from "../../src/protocol/request.ts";

Deno.test("encodeRequest() gives the UTF-8 JSON, refuses over 10 MiB and non-objects", () => {
  const request = { model: "m", messages: [{ role: "user" as const, content: "Grüße" }] };
  const ok = encodeRequest(request, "send request");
  assert.ok(Either.isRight(ok));
  assert.equal(new TextDecoder().decode(ok.right), JSON.stringify(request));
  const big = { model: "m", messages: [{ role: "user" as const, content: "x".repeat(10 << 20) }] };
  const refused = encodeRequest(big, "encrypt payload");
  assert.ok(Either.isLeft(refused));
  assert.equal(refused.left.reason, "PayloadTooLarge");
  assert.match(refused.left.message, /^Cannot encrypt payload: plaintext is \d+ bytes/);
  assert.ok(!refused.left.message.includes("xxxx"));
  for (const bad of [null, [], "text"]) {
    assert.throws(() => encodeRequest(bad as never, "send request"), TypeError);
  }
});
