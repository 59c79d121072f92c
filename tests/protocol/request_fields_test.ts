/**
 * The request contract: each client-side field applied or refused by the door's policy, never
 * left in the body; other spellings refused; own data only.
 */
import assert from "node:assert/strict";
import * as Either from "effect/Either";
import {
  type RequestDoor,
  requestFieldOf,
  splitRequest,
} from "../../src/protocol/request_fields.ts";

const ALL: RequestDoor = {
  action: "send request",
  applies: ["securityTier", "apiKey", "baseUrl", "stream", "streamOptions"],
};
const NONE: RequestDoor = {
  action: "send request",
  applies: [],
  refusals: { apiKey: "use the header" },
};
const ask = { model: "m", messages: [{ role: "user", content: "hi" }] };

const refused = (request: unknown, door: RequestDoor): string => {
  const split = splitRequest(request, door);
  assert.ok(Either.isLeft(split), "refused");
  assert.ok(split.left instanceof TypeError);
  return split.left.message;
};

Deno.test("splitRequest() takes every applied field out of the body", () => {
  const split = splitRequest({
    ...ask,
    security_tier: "high",
    api_key: "k",
    base_url: "https://r.example",
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0,
  }, ALL);
  assert.ok(Either.isRight(split));
  assert.deepEqual(split.right.body, { ...ask, temperature: 0 });
  assert.deepEqual(split.right.fields, {
    securityTier: "high",
    apiKey: "k",
    baseUrl: "https://r.example",
    stream: true,
    includeUsage: true,
  });
});

Deno.test("splitRequest() refuses a field the door does not apply, with the door's reason", () => {
  assert.equal(
    refused({ ...ask, api_key: "sk-secret" }, NONE),
    "Cannot send request: the request field api_key, which is not accepted here (use the header)",
  );
  assert.match(refused({ ...ask, stream: true }, NONE), /stream, which is not accepted here/);
  // `stream: false` asks for the whole answer, which every door gives.
  assert.ok(Either.isRight(splitRequest({ ...ask, stream: false }, NONE)));
});

Deno.test("splitRequest() refuses every other spelling of a client field, naming it", () => {
  for (
    const key of ["securityTier", "SECURITY_TIER", "apiKey", "Api-Key", "baseURL", "routerUrl"]
  ) {
    const message = refused({ ...ask, [key]: "x" }, ALL);
    assert.ok(message.includes(`"${key}"`) && /is spelt/.test(message), message);
    assert.match(refused({ ...ask, [key]: "x" }, NONE), /means .*not accepted here/);
  }
  assert.equal(requestFieldOf("service_tier"), undefined, "an OpenAI field stays a model field");
});

Deno.test("splitRequest() checks stream and stream_options as OpenAI does", () => {
  assert.match(refused({ ...ask, stream: "yes" }, ALL), /stream must be a boolean/);
  assert.match(
    refused({ ...ask, stream_options: { include_usage: true } }, ALL),
    /stream_options is only allowed with stream: true/,
  );
  assert.match(refused({ ...ask, stream: true, stream_options: 1 }, ALL), /must be an object/);
});

Deno.test("splitRequest() reads own data only: inherited fields and getters are refused, pollution ignored", () => {
  assert.match(
    refused(Object.assign(Object.create({ base_url: "https://evil.example" }), ask), ALL),
    /base_url is inherited/,
  );
  let ran = false;
  const getter = Object.defineProperty({ ...ask }, "temperature", {
    enumerable: true,
    get: () => {
      ran = true;
      return 0;
    },
  });
  assert.match(refused(getter, ALL), /"temperature" is a getter/);
  assert.equal(ran, false);
  Object.defineProperty(Object.prototype, "security_tier", {
    value: "maximum",
    configurable: true,
  });
  try {
    const split = splitRequest({ ...ask }, ALL);
    assert.ok(Either.isRight(split));
    assert.equal(split.right.fields.securityTier, undefined);
    assert.deepEqual(Object.keys(split.right.body), ["model", "messages"]);
  } finally {
    delete (Object.prototype as Record<string, unknown>).security_tier;
  }
  const proto = JSON.parse('{"__proto__": {"x": 1}, "model": "m"}');
  const split = splitRequest(proto, ALL);
  assert.ok(Either.isRight(split));
  assert.ok(Object.hasOwn(split.right.body, "__proto__"), "a JSON __proto__ key stays a plain key");
  assert.equal(Object.getPrototypeOf(split.right.body), Object.prototype);
});

Deno.test("splitRequest() refuses what is not an object", () => {
  for (const request of [null, [], "body", 1]) {
    assert.equal(refused(request, ALL), "Cannot send request: the request must be an object");
  }
});
