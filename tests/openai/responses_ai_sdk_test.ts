/**
 * The Vercel AI SDK's default OpenAI provider (`@ai-sdk/openai@4`, `createOpenAI(…)("model")`,
 * which speaks the Responses API) wired with `fetch: client.fetch`, against the test router:
 * generate, stream, tools (with the tool result round trip), structured output.
 */
import assert from "node:assert/strict";
import { createOpenAI } from "npm:@ai-sdk/openai@4";
import {
  APICallError,
  generateText,
  jsonSchema,
  Output,
  stepCountIs,
  streamText,
  tool,
  type ToolSet,
} from "npm:ai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import type { ChatCompletion } from "../../src/protocol/chat.ts";
import { responsesDoor } from "../../src/openai/responses_door.ts";
import {
  assertSealed,
  assertStreamedEcho,
  lastPlaintext,
  LONG_PROMPT,
  withClient,
} from "./_setup.ts";
import { completions } from "../_client.ts";

const model = (client: SecureChatCompletion) =>
  createOpenAI({ baseURL: "https://nomyo.invalid/v1", apiKey: "unused", fetch: client.fetch })(
    "Qwen/Qwen3-0.6B",
  );

const tools: ToolSet = {
  get_weather: tool({
    description: "The weather in a city",
    inputSchema: jsonSchema<{ echo: string }>({
      type: "object",
      properties: { echo: { type: "string" } },
      required: ["echo"],
      additionalProperties: false,
    }),
    execute: ({ echo }: { echo: string }) => Promise.resolve(`sunny in ${echo}`),
  }),
};

Deno.test("AI SDK openai provider: generateText() through /responses", async () => {
  await withClient(async (client, router) => {
    const result = await generateText({
      model: model(client),
      system: "Be brief",
      prompt: "ai-resp-secret-1",
      maxOutputTokens: 100,
      maxRetries: 0,
    });
    assert.equal(result.text, "Echo: ai-resp-secret-1");
    assert.equal(result.finishReason, "stop");
    assert.ok((result.usage.totalTokens ?? 0) > 0);
    assertSealed(router, 1, "ai-resp-secret-1");
    assert.equal(router.requests.at(-1)?.path, "/v1/chat/secure_completion");
    const sent = lastPlaintext(router);
    assert.equal(sent.max_tokens, 100);
    assert.deepEqual((sent.messages as unknown[]).at(-1), {
      role: "user",
      content: [{ type: "text", text: "ai-resp-secret-1" }],
    });
  });
});

Deno.test("AI SDK openai provider: streamText() parts join to the answer", async () => {
  await withClient(async (client, router) => {
    const result = streamText({ model: model(client), prompt: LONG_PROMPT, maxRetries: 0 });
    await assertStreamedEcho(result, router);
  });
});

Deno.test("AI SDK openai provider: a tool call, generated, executed and answered", async () => {
  await withClient(async (client, router) => {
    const result = await generateText({
      model: model(client),
      prompt: "Paris",
      tools,
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    assert.equal(result.steps.length, 2);
    const call = result.steps[0]?.toolCalls[0];
    assert.equal(call?.toolName, "get_weather");
    assert.deepEqual(call?.input, { echo: "Paris" });
    assert.equal(result.steps[0]?.finishReason, "tool-calls");
    assert.equal(result.text, "Tool result: sunny in Paris");
    assert.equal(completions(router).length, 2);
    const messages = lastPlaintext(router).messages as Array<Record<string, unknown>>;
    assert.equal(messages.at(-2)?.role, "assistant");
    assert.equal(messages.at(-1)?.role, "tool");
  });
});

Deno.test("AI SDK openai provider: streamText() with a tool call", async () => {
  await withClient(async (client) => {
    const streamed = streamText({ model: model(client), prompt: "Rome", tools, maxRetries: 0 });
    const calls = await streamed.toolCalls;
    assert.equal(calls[0]?.toolName, "get_weather");
    assert.deepEqual(calls[0]?.input, { echo: "Rome" });
    assert.equal(await streamed.finishReason, "tool-calls");
  });
});

Deno.test("AI SDK openai provider: structured output as text.format json_schema", async () => {
  await withClient(async (client, router) => {
    const result = await generateText({
      model: model(client),
      prompt: "Oslo",
      output: Output.object({
        schema: jsonSchema<{ echo: string }>({
          type: "object",
          properties: { echo: { type: "string" } },
          required: ["echo"],
          additionalProperties: false,
        }),
      }),
      maxRetries: 0,
    });
    assert.deepEqual(result.output, { echo: "Oslo" });
    const format = lastPlaintext(router).response_format as Record<string, unknown>;
    assert.equal(format.type, "json_schema");
  });
});

Deno.test("AI SDK openai provider: a second turn needs store: false, else a 400 says so", async () => {
  await withClient(async (client, router) => {
    const first = await generateText({ model: model(client), prompt: "one", maxRetries: 0 });
    const messages = [...first.response.messages, { role: "user" as const, content: "two" }];
    // By default the provider refers to the earlier answer by id (`item_reference`): nothing is
    // stored, so that is refused with the way out in the message.
    await assert.rejects(
      generateText({ model: model(client), messages, maxRetries: 0 }),
      (error: unknown) => {
        assert.ok(APICallError.isInstance(error));
        assert.equal(error.statusCode, 400);
        assert.match(error.message, /input\[0\] .*item_reference.*store = false/);
        return true;
      },
    );
    assert.equal(completions(router).length, 1, "nothing sent");
    const second = await generateText({
      model: model(client),
      messages,
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });
    assert.equal(second.text, "Echo: two");
    assert.deepEqual(lastPlaintext(router).messages, [
      { role: "assistant", content: "Echo: one" },
      { role: "user", content: [{ type: "text", text: "two" }] },
    ]);
  });
});

/** A `fetch` that answers `/responses` with the door's own answer to `completion`. */
const answering = (completion: ChatCompletion): typeof fetch => async (input, init) => {
  const request = new Request(input, init);
  const door = responsesDoor(await request.json());
  assert.ok(!(door instanceof Response));
  return door.answer(completion, {});
};

const thinkingAnswer = (finishReason: string): ChatCompletion =>
  ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "Echo: cut sh",
        refusal: null,
        reasoning_content: "thinking it over",
      },
      finish_reason: finishReason,
      logprobs: null,
    }],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    _metadata: {
      payload_id: "p1",
      is_encrypted: true,
      encryption_algorithm: "hybrid-aes256-rsa4096",
      response_status: "success",
    },
  }) as unknown as ChatCompletion;

Deno.test("AI SDK openai provider reads a reasoning item and a cut answer", async () => {
  const provider = (finishReason: string) =>
    createOpenAI({
      baseURL: "https://nomyo.invalid/v1",
      apiKey: "unused",
      fetch: answering(thinkingAnswer(finishReason)),
    })("m");
  const generated = await generateText({ model: provider("length"), prompt: "p", maxRetries: 0 });
  assert.equal(generated.text, "Echo: cut sh");
  assert.equal(generated.finishReason, "length");
  assert.equal(generated.usage.outputTokens, 4);
  const streamed = streamText({ model: provider("length"), prompt: "p", maxRetries: 0 });
  let text = "";
  for await (const part of streamed.textStream) text += part;
  assert.equal(text, "Echo: cut sh");
  assert.equal(await streamed.finishReason, "length");
  const stopped = await generateText({ model: provider("stop"), prompt: "p", maxRetries: 0 });
  assert.equal(stopped.finishReason, "stop");
  assert.equal(stopped.reasoning.length, 1, "the reasoning item is read as reasoning");
});
