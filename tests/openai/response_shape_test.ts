/**
 * Decrypted answers take the shape OpenAI's type promises: absent `refusal` / `logprobs` read as
 * `null`, and what cannot be an OpenAI completion is refused.
 */
import assert from "node:assert/strict";
import { Either } from "effect";
import { toChatCompletion } from "../../src/protocol/response.ts";

const pkg = { processedAt: 1, algorithm: "hybrid-aes256-rsa4096" as const };
const open = (value: unknown) =>
  toChatCompletion(new TextEncoder().encode(JSON.stringify(value)), pkg, "p");

const body = (choice: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, finish_reason: "stop", ...choice }],
  ...over,
});

Deno.test("toChatCompletion() sets an absent refusal and logprobs to null", () => {
  const result = open(body({ message: { role: "assistant", content: "hi" } }));
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

Deno.test("toChatCompletion() refuses what cannot be an OpenAI chat completion", () => {
  const message = { role: "assistant", content: "hi" };
  const refused = [
    body({ message }, { object: "chat.completion.chunk" }),
    body({ message: { role: "user", content: "hi" } }),
    body({ message, finish_reason: "exploded" }),
    body({ message, finish_reason: null }),
    body({ message: { ...message, refusal: 3 } }),
    body({ message, logprobs: { content: [{ token: 1 }], refusal: null } }),
    body({ message, logprobs: "yes" }),
    body({ message }, { choices: "none" }),
  ];
  for (const value of refused) {
    const result = open(value);
    assert.ok(Either.isLeft(result), JSON.stringify(value));
    assert.equal(result.left.reason, "MalformedPlaintext");
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
