import type * as LanguageModel from "@effect/ai/LanguageModel";
import * as Prompt from "@effect/ai/Prompt";
import * as Tool from "@effect/ai/Tool";
import { Cause, Effect, Exit, Option, Schema } from "effect";
import assert from "node:assert/strict";
import { makeRequest, prepareMessages } from "../../src/effect_ai/request.ts";
import { failureOf } from "../_helpers.ts";

const messagesOf = (input: Prompt.RawInput) =>
  Effect.runPromise(prepareMessages(Prompt.make(input)));

Deno.test("prepareMessages() maps assistant text + tool calls and one tool message per result", async () => {
  const messages = await messagesOf([
    {
      role: "assistant",
      content: [
        { type: "reasoning", text: "not sent back" },
        { type: "text", text: "Let me look" },
        { type: "tool-call", id: "c1", name: "f", params: { q: "x" } },
        { type: "tool-call", id: "c2", name: "g", params: {}, providerExecuted: true },
      ],
    },
    {
      role: "tool",
      content: [
        {
          type: "tool-result",
          id: "c1",
          name: "f",
          result: { ok: 1 },
          isFailure: false,
          providerExecuted: false,
        },
        {
          type: "tool-result",
          id: "c3",
          name: "f",
          result: "boom",
          isFailure: true,
          providerExecuted: false,
        },
      ],
    },
    { role: "assistant", content: "plain" },
  ]);
  assert.deepEqual(messages, [
    {
      role: "assistant",
      content: "Let me look",
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"q":"x"}' } }],
    },
    { role: "tool", tool_call_id: "c1", content: '{"ok":1}' },
    { role: "tool", tool_call_id: "c3", content: '"boom"' },
    { role: "assistant", content: "plain" },
  ]);
});

Deno.test("prepareMessages() sends image URLs, data URLs and base64 strings as image_url", async () => {
  const [user] = await messagesOf([{
    role: "user",
    content: [
      { type: "file", mediaType: "image/png", data: new URL("https://example.test/a.png") },
      { type: "file", mediaType: "image/*", data: "AQID" },
      { type: "file", mediaType: "image/gif", data: "data:image/gif;base64,R0lG" },
    ],
  }]);
  assert.deepEqual(user?.content, [
    { type: "image_url", image_url: { url: "https://example.test/a.png" } },
    { type: "image_url", image_url: { url: "data:image/jpeg;base64,AQID" } },
    { type: "image_url", image_url: { url: "data:image/gif;base64,R0lG" } },
  ]);
});

Deno.test("prepareMessages() refuses files it cannot carry with MalformedInput", async () => {
  const pdf = Prompt.make([{
    role: "user",
    content: [{ type: "file", mediaType: "application/pdf", data: new Uint8Array([37, 80]) }],
  }]);
  const error = failureOf(await Effect.runPromiseExit(prepareMessages(pdf)));
  assert.equal(error._tag, "MalformedInput");
  assert.match(error.message, /application\/pdf are not supported/);

  const assistantFile = Prompt.make([{
    role: "assistant",
    content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }],
  }]);
  assert.equal(
    failureOf(await Effect.runPromiseExit(prepareMessages(assistantFile)))._tag,
    "MalformedInput",
  );
});

Deno.test("makeRequest() refuses provider-defined tools", async () => {
  const Search = Tool.providerDefined({
    id: "openai.web_search",
    toolkitName: "WebSearch",
    providerName: "web_search",
    args: {},
    success: Schema.Unknown,
  })({});
  const options = {
    prompt: Prompt.make("x"),
    tools: [Search],
    toolChoice: "auto",
    responseFormat: { type: "text" },
  } as unknown as LanguageModel.ProviderOptions;
  const error = failureOf(await Effect.runPromiseExit(makeRequest("m", {}, options)));
  assert.equal(error._tag, "MalformedInput");
  assert.match(error.message, /provider-defined tool/);
});

Deno.test("makeRequest() keeps unknown parameters and puts the prompt last", async () => {
  const options = {
    prompt: Prompt.make("hello"),
    tools: [],
    toolChoice: "none",
    responseFormat: { type: "text" },
  } as unknown as LanguageModel.ProviderOptions;
  const request = await Effect.runPromise(makeRequest("m", {
    temperature: 0,
    logit_bias: { "1": 2 },
    stream: false,
  }, options));
  assert.deepEqual(request, {
    temperature: 0,
    logit_bias: { "1": 2 },
    model: "m",
    messages: [{ role: "user", content: "hello" }],
  });
});

Deno.test("makeRequest() dies with a TypeError on a reserved or client parameter, never drops it", async () => {
  const options = {
    prompt: Prompt.make("hello"),
    tools: [],
    toolChoice: "none",
    responseFormat: { type: "text" },
  } as unknown as LanguageModel.ProviderOptions;
  for (
    const params of [
      { stream: true },
      { stream_options: { include_usage: true } },
      { tools: [{ type: "function", function: { name: "sneaky" } }] },
      { tool_choice: "required" },
      { messages: [] },
      { model: "other" },
      { apiKey: "sk-in-the-prompt" },
      { base_url: "https://evil.example" },
    ]
  ) {
    const exit = await Effect.runPromiseExit(makeRequest("m", params, options));
    const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none();
    assert.ok(Option.isSome(defect) && defect.value instanceof TypeError, JSON.stringify(params));
    assert.match(defect.value.message, new RegExp(Object.keys(params)[0]!));
    assert.ok(!defect.value.message.includes("sk-in-the-prompt"));
  }
});

Deno.test("prepareMessages() refuses tool params and results JSON cannot carry, without quoting", async () => {
  const cycle: Record<string, unknown> = { secret: "confidential" };
  cycle.self = cycle;
  const prompts = [
    Prompt.fromMessages([Prompt.makeMessage("assistant", {
      content: [Prompt.makePart("tool-call", {
        id: "c1",
        name: "f",
        params: { n: 10n },
        providerExecuted: false,
      })],
    })]),
    Prompt.fromMessages([Prompt.makeMessage("tool", {
      content: [Prompt.makePart("tool-result", {
        id: "c2",
        name: "f",
        result: cycle,
        isFailure: false,
        providerExecuted: false,
      })],
    })]),
  ];
  for (const prompt of prompts) {
    const error = failureOf(await Effect.runPromiseExit(prepareMessages(prompt)));
    assert.equal(error._tag, "MalformedInput");
    assert.match(error.message, /of tool call c\d is not JSON/);
    assert.ok(!error.message.includes("confidential"));
  }
});
