/**
 * The Vercel AI SDK (`ai@7` with `@ai-sdk/openai-compatible@3`), wired with
 * `fetch: client.fetch`, against the test router: generate, stream, tools, and every status
 * raised as the AI SDK's `APICallError` with that status.
 */
import assert from "node:assert/strict";
import { createOpenAICompatible } from "npm:@ai-sdk/openai-compatible@3";
import { APICallError, generateText, jsonSchema, Output, streamText, tool } from "npm:ai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { assertSealed, assertStreamedEcho, LONG_PROMPT, STATUSES, withClient } from "./_setup.ts";
import { answeringCompletions } from "../_helpers.ts";

const model = (client: SecureChatCompletion) =>
  createOpenAICompatible({
    name: "nomyo",
    baseURL: "https://nomyo.invalid/v1",
    fetch: client.fetch,
    includeUsage: true,
  }).chatModel("Qwen/Qwen3-0.6B");

const weather = tool({
  description: "The weather in a city",
  inputSchema: jsonSchema<{ echo: string }>({
    type: "object",
    properties: { echo: { type: "string" } },
    required: ["echo"],
  }),
  execute: ({ echo }) => Promise.resolve(`sunny in ${echo}`),
});

Deno.test("AI SDK: generateText() through client.fetch", async () => {
  await withClient(async (client, router) => {
    const result = await generateText({
      model: model(client),
      prompt: "ai-secret-1",
      maxRetries: 0,
    });
    assert.equal(result.text, "Echo: ai-secret-1");
    assert.equal(result.finishReason, "stop");
    assert.ok((result.usage.totalTokens ?? 0) > 0);
    assertSealed(router, 1, "ai-secret-1");
  });
});

Deno.test("AI SDK: streamText() parts join to the answer", async () => {
  await withClient(async (client, router) => {
    const result = streamText({ model: model(client), prompt: LONG_PROMPT, maxRetries: 0 });
    await assertStreamedEcho(result, router);
  });
});

Deno.test("AI SDK: tool calls, generated and streamed", async () => {
  await withClient(async (client, router) => {
    const generated = await generateText({
      model: model(client),
      prompt: "Paris",
      tools: { get_weather: weather },
      maxRetries: 0,
    });
    assert.equal(generated.finishReason, "tool-calls");
    assert.equal(generated.toolCalls[0]?.toolName, "get_weather");
    assert.deepEqual(generated.toolCalls[0]?.input, { echo: "Paris" });

    const streamed = streamText({
      model: model(client),
      prompt: "Rome",
      tools: { get_weather: weather },
      maxRetries: 0,
    });
    const calls = await streamed.toolCalls;
    assert.equal(calls[0]?.toolName, "get_weather");
    assert.deepEqual(calls[0]?.input, { echo: "Rome" });
    assertSealed(router, 2, "Rome");
  });
});

Deno.test("AI SDK: a disposed client's error says so and is not retried", async () => {
  const { SecureChatCompletion } = await import("../../src/promise/secure_chat_completion.ts");
  const client = new SecureChatCompletion({
    baseUrl: "https://nomyo.invalid",
    maxRetries: 0,
    keySize: 2048,
  });
  await client.dispose();
  await assert.rejects(
    generateText({ model: model(client), prompt: "a" }),
    (e: unknown) => {
      // With the default maxRetries (2), a "fetch failed" would come back as a RetryError.
      assert.ok(e instanceof Error, String(e));
      assert.match(e.message, /Cannot use client: it was disposed/);
      assert.doesNotMatch(e.message, /Failed after/);
      return true;
    },
  );
});

Deno.test("AI SDK: structured output is JSON mode by default, json_schema with supportsStructuredOutputs", async () => {
  const schema = jsonSchema<{ echo: string }>({
    type: "object",
    properties: { echo: { type: "string" } },
    required: ["echo"],
    additionalProperties: false,
  });
  for (const supportsStructuredOutputs of [false, true]) {
    await withClient(async (client, router) => {
      const structured = createOpenAICompatible({
        name: "nomyo",
        baseURL: "https://nomyo.invalid/v1",
        fetch: client.fetch,
        supportsStructuredOutputs,
      }).chatModel("Qwen/Qwen3-0.6B");
      const result = await generateText({
        model: structured,
        prompt: "structured-1",
        output: Output.object({ schema }),
        maxRetries: 0,
      });
      assert.deepEqual(result.output, { echo: "structured-1" });
      const sent = router.requests.find((r) => r.plaintext !== undefined)?.plaintext as {
        response_format?: { type?: string; json_schema?: { schema?: unknown } };
      };
      assert.equal(
        sent.response_format?.type,
        supportsStructuredOutputs ? "json_schema" : "json_object",
      );
      if (supportsStructuredOutputs) {
        assert.deepEqual(
          (sent.response_format?.json_schema?.schema as { required?: unknown }).required,
          ["echo"],
        );
      }
    });
  }
});

Deno.test("AI SDK: each router status raises APICallError with that status", async () => {
  await withClient(async (client, router) => {
    for (const [status] of STATUSES) {
      router.inject({ status, detail: `router says ${status}` });
      await assert.rejects(
        generateText({ model: model(client), prompt: "a", maxRetries: 0 }),
        (e: unknown) => {
          assert.ok(APICallError.isInstance(e), `${status}: an APICallError`);
          assert.equal(e.statusCode, status);
          assert.match(e.message, new RegExp(`router says ${status}`));
          return true;
        },
      );
    }
    assert.equal(router.requests.filter((r) => r.method === "POST").length, STATUSES.length);
  });
});

Deno.test("AI SDK: a tampered answer is not retryable and is never retried", async () => {
  await withClient(async (client, router) => {
    router.inject({ tamper: "ciphertext", times: 5 });
    const error = await generateText({ model: model(client), prompt: "a", maxRetries: 3 })
      .catch((e) => e);
    assert.ok(APICallError.isInstance(error));
    assert.equal(error.statusCode, 400);
    assert.equal(error.isRetryable, false);
    assert.match(error.message, /decryption failed/);
    assertSealed(router, 1, "never");
  });
});

Deno.test("AI SDK: a router redirect is a 400 APICallError, not retryable, never retried", async () => {
  const router = answeringCompletions(() =>
    new Response(null, { status: 302, headers: { location: "http://127.0.0.1:9/elsewhere" } })
  );
  await withClient(async (client) => {
    const error = await generateText({ model: model(client), prompt: "a", maxRetries: 3 })
      .catch((e) => e);
    assert.ok(APICallError.isInstance(error));
    assert.equal(error.statusCode, 400);
    assert.equal(error.isRetryable, false);
    assert.match(error.message, /302/);
    assert.equal(router.calls(), 1, "neither the client nor the SDK retried");
  }, { fetch: router.fetch, maxRetries: 2 });
});
