import { Effect, Exit } from "effect";
import assert from "node:assert/strict";
import type { ChatCompletion } from "../../mod.ts";
import { makeResponse, resolveFinishReason, toStreamParts } from "../../src/effect_ai/response.ts";
import { failureOf } from "../_helpers.ts";

const completion = (
  message: Record<string, unknown>,
  extra: Partial<ChatCompletion> = {},
): ChatCompletion => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "m",
  choices: [{
    index: 0,
    message: { role: "assistant", content: null, refusal: null, ...message },
    finish_reason: "stop",
    logprobs: null,
  }],
  _metadata: {
    payload_id: "p-1",
    is_encrypted: true,
    encryption_algorithm: "hybrid-aes256-rsa4096",
    response_status: "success",
  },
  ...extra,
});

const callWith = (args: string): ChatCompletion =>
  completion({
    tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: args } }],
  });

Deno.test("makeResponse() gives metadata, reasoning, text, tool calls and finish in order", async () => {
  const parts = await Effect.runPromise(makeResponse(completion({
    content: "Hi",
    reasoning_content: "thinking",
    tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
  }, {
    usage: {
      prompt_tokens: 3,
      completion_tokens: 4,
      total_tokens: 7,
      completion_tokens_details: { reasoning_tokens: 2 },
      prompt_tokens_details: { cached_tokens: 1 },
    },
  })));
  assert.deepEqual(parts, [
    {
      type: "response-metadata",
      id: "chatcmpl-1",
      modelId: "m",
      timestamp: "2023-11-14T22:13:20.000Z",
      metadata: { nomyo: completion({})._metadata },
    },
    { type: "reasoning", text: "thinking" },
    { type: "text", text: "Hi" },
    { type: "tool-call", id: "c1", name: "f", params: { a: 1 } },
    {
      type: "finish",
      reason: "tool-calls",
      usage: {
        inputTokens: 3,
        outputTokens: 4,
        totalTokens: 7,
        reasoningTokens: 2,
        cachedInputTokens: 1,
      },
    },
  ]);
});

Deno.test("makeResponse() without usage or a valid time leaves them undefined", async () => {
  const parts = await Effect.runPromise(
    makeResponse(completion({ content: "x" }, { created: 1e300 })),
  );
  assert.equal(parts[0]?.type === "response-metadata" && parts[0].timestamp, undefined);
  assert.deepEqual(parts.at(-1), {
    type: "finish",
    reason: "stop",
    usage: { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined },
  });
});

Deno.test("makeResponse() refuses an answer with no choices", async () => {
  const error = failureOf(
    await Effect.runPromiseExit(makeResponse(completion({}, { choices: [] }))),
  );
  assert.equal(error._tag, "MalformedOutput");
  assert.match(error.message, /no choices/);
});

Deno.test("makeResponse() refuses tool arguments that are not JSON without quoting them", async () => {
  for (const args of ["{confidential: diagnosis", "", "[1,", '{"a":1}{']) {
    const exit = await Effect.runPromiseExit(makeResponse(callWith(args)));
    const error = failureOf(exit);
    assert.equal(error._tag, "MalformedOutput");
    assert.match(error.message, /arguments of lookup are not JSON/);
    const seen = `${error.message}\n${String(error)}\n${JSON.stringify(error)}`;
    assert.ok(args.length === 0 || !seen.includes(args), "the arguments leaked into the error");
    assert.equal(error.cause, undefined);
  }
});

Deno.test("makeResponse() refuses tool arguments with prototype-poisoning keys", async () => {
  for (
    const args of ['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}']
  ) {
    const exit = await Effect.runPromiseExit(makeResponse(callWith(args)));
    assert.ok(Exit.isFailure(exit));
    assert.equal(failureOf(exit)._tag, "MalformedOutput");
  }
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

Deno.test("resolveFinishReason() maps OpenAI's reasons, and others to unknown", () => {
  const table: ReadonlyArray<[string | null, boolean, string]> = [
    ["stop", false, "stop"],
    ["stop", true, "tool-calls"],
    ["length", false, "length"],
    ["length", true, "length"],
    ["content_filter", false, "content-filter"],
    ["tool_calls", true, "tool-calls"],
    ["tool_calls", false, "tool-calls"],
    ["function_call", true, "tool-calls"],
    // Other servers' reasons, and none, as @effect/ai-openai reads them.
    ["abort", false, "unknown"],
    ["eos_token", false, "unknown"],
    ["error", false, "unknown"],
    ["eos_token", true, "tool-calls"],
    [null, false, "unknown"],
    [null, true, "tool-calls"],
    // Inherited names are not reasons.
    ["constructor", false, "unknown"],
    ["__proto__", false, "unknown"],
    ["toString", false, "unknown"],
  ];
  for (const [reason, calls, expected] of table) {
    assert.equal(resolveFinishReason(reason, calls), expected, `${reason} ${calls}`);
  }
});

Deno.test("toStreamParts() splits text, reasoning and tool calls into start, delta, end", () => {
  const parts = toStreamParts([
    { type: "response-metadata", id: "r" },
    { type: "reasoning", text: "why" },
    { type: "text", text: "what" },
    { type: "tool-call", id: "c1", name: "f", params: { a: 1 } },
    { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } },
  ]);
  assert.deepEqual(parts, [
    { type: "response-metadata", id: "r" },
    { type: "reasoning-start", id: "0" },
    { type: "reasoning-delta", id: "0", delta: "why" },
    { type: "reasoning-end", id: "0" },
    { type: "text-start", id: "1" },
    { type: "text-delta", id: "1", delta: "what" },
    { type: "text-end", id: "1" },
    { type: "tool-params-start", id: "c1", name: "f" },
    { type: "tool-params-delta", id: "c1", delta: '{"a":1}' },
    { type: "tool-params-end", id: "c1" },
    { type: "tool-call", id: "c1", name: "f", params: { a: 1 } },
    { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } },
  ]);
});
