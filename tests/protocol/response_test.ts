/**
 * Opened answers: `openResponse()` keeps the plaintext exactly (plus `_metadata`);
 * `toChatCompletion()` fills OpenAI's nulls and checks field types, but refuses no value that
 * only OpenAI's lists leave out (another server's `finish_reason`, another `object`).
 */
import assert from "node:assert/strict";
import { Either } from "effect";
import { openResponse, toChatCompletion } from "../../src/protocol/response.ts";

const pkg = { processedAt: 1, algorithm: "hybrid-aes256-rsa4096" as const };
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const open = (value: unknown) => toChatCompletion(bytes(value), pkg, "p");

const body = (choice: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, finish_reason: "stop", ...choice }],
  ...over,
});
const message = { role: "assistant", content: "hi" };
const METADATA = {
  payload_id: "p",
  processed_at: 1,
  is_encrypted: true,
  encryption_algorithm: "hybrid-aes256-rsa4096",
  response_status: "success",
};

Deno.test("toChatCompletion() sets an absent refusal and logprobs to null", () => {
  const result = open(body({ message }));
  assert.ok(Either.isRight(result));
  const choice = result.right.choices[0]!;
  assert.equal(choice.logprobs, null);
  assert.equal(choice.message.refusal, null);
  assert.equal(choice.message.content, "hi");
});

Deno.test("toChatCompletion() keeps a refusal and logprobs the router sent", () => {
  const logprobs = {
    content: [{ token: "hi", bytes: [104, 105], logprob: -0.1, top_logprobs: [] }],
    refusal: null,
  };
  const result = open(body({
    message: { role: "assistant", content: null, refusal: "no" },
    logprobs,
  }));
  assert.ok(Either.isRight(result));
  assert.equal(result.right.choices[0]?.message.refusal, "no");
  assert.deepEqual(result.right.choices[0]?.logprobs, logprobs);
});

Deno.test("toChatCompletion() reads a logprobs object without refusal (vLLM's) with refusal null", () => {
  const content = [{ token: "hi", bytes: [104, 105], logprob: -0.1, top_logprobs: [] }];
  const result = open(body({ message, logprobs: { content } }));
  assert.ok(Either.isRight(result));
  assert.deepEqual(result.right.choices[0]?.logprobs, { content, refusal: null });
  const empty = open(body({ message, logprobs: {} }));
  assert.ok(Either.isRight(empty));
  assert.deepEqual(empty.right.choices[0]?.logprobs, { content: null, refusal: null });
});

Deno.test("toChatCompletion() passes other servers' finish reasons and object names verbatim", () => {
  const cases = [
    body({ message, finish_reason: "abort" }),
    body({ message, finish_reason: "eos_token" }),
    body({ message, finish_reason: null }),
    body({ message, finish_reason: "constructor" }),
    body({ message }, { object: "text_completion" }),
    body({ message }, { object: "chat.completion.chunk" }),
  ];
  for (const value of cases) {
    const result = open(value);
    assert.ok(Either.isRight(result), JSON.stringify(value));
    assert.equal(result.right.object, value.object);
    assert.equal(result.right.choices[0]?.finish_reason, value.choices[0]?.finish_reason);
  }
});

Deno.test("toChatCompletion() refuses a plaintext without the field types of a chat completion", () => {
  const refused = [
    body({ message: { role: "user", content: "hi" } }),
    body({ message, finish_reason: 3 }),
    body({ message }, { object: 1 }),
    body({ message }, { id: undefined }),
    body({ message: { ...message, refusal: 3 } }),
    body({ message, logprobs: { content: [{ token: 1 }], refusal: null } }),
    body({ message, logprobs: "yes" }),
    body({ message }, { choices: "none" }),
    [body({ message })],
    "chat.completion",
  ];
  for (const value of refused) {
    const result = open(value);
    assert.ok(Either.isLeft(result), JSON.stringify(value));
    assert.equal(result.left.reason, "MalformedPlaintext");
    assert.equal(result.left.payloadId, "p");
  }
});

Deno.test("toChatCompletion() fills nullable fields as own data properties only", () => {
  const text = '{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[' +
    '{"index":0,"finish_reason":"stop","__proto__":{"logprobs":1},' +
    '"message":{"role":"assistant","content":"x"}}]}';
  const result = toChatCompletion(new TextEncoder().encode(text), pkg, "p");
  assert.ok(Either.isRight(result));
  const choice = result.right.choices[0]!;
  assert.equal(Object.hasOwn(choice, "logprobs"), true);
  assert.equal(choice.logprobs, null);
  assert.equal(({} as Record<string, unknown>).logprobs, undefined, "no prototype pollution");
});

Deno.test("openResponse() returns the plaintext exactly, plus _metadata", () => {
  const cases: Array<Record<string, unknown>> = [
    body({ message }),
    body({ message, finish_reason: "abort" }, { object: "something.else" }),
    // Not a chat completion at all: still an authentic answer, handed out as it is.
    { error: { message: "backend said no" } },
    {},
  ];
  for (const value of cases) {
    const result = openResponse(bytes(value), pkg, "p");
    assert.ok(Either.isRight(result), JSON.stringify(value));
    assert.deepEqual(result.right, { ...value, _metadata: METADATA });
  }
  // No refusal or logprobs added, unlike the typed result.
  const plain = openResponse(bytes(body({ message })), pkg, "p");
  assert.ok(Either.isRight(plain));
  const choice = (plain.right.choices as Array<Record<string, unknown>>)[0]!;
  assert.equal(Object.hasOwn(choice, "logprobs"), false);
  assert.equal(Object.hasOwn(choice.message as object, "refusal"), false);
});

Deno.test("openResponse() keeps the router's _metadata but sets the client's fields", () => {
  const value = {
    id: "c",
    _metadata: { model_tier: "high", payload_id: "forged", is_encrypted: false },
  };
  const result = openResponse(bytes(value), { ...pkg, processedAt: undefined }, "p");
  assert.ok(Either.isRight(result));
  assert.deepEqual(result.right._metadata, {
    model_tier: "high",
    payload_id: "p",
    is_encrypted: true,
    encryption_algorithm: "hybrid-aes256-rsa4096",
    response_status: "success",
  });
});

Deno.test("openResponse() refuses what is not a UTF-8 JSON object", () => {
  const refused = [
    bytes([1, 2]),
    bytes("text"),
    bytes(null),
    new TextEncoder().encode("not json"),
    new Uint8Array([0x7b, 0xff, 0x7d]),
    new Uint8Array(0),
  ];
  for (const plaintext of refused) {
    const result = openResponse(plaintext, pkg, "p");
    assert.ok(Either.isLeft(result));
    assert.equal(result.left.reason, "MalformedPlaintext");
    assert.equal(result.left.message, "Cannot open response: plaintext is not a UTF-8 JSON object");
  }
});
