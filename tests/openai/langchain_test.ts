/**
 * LangChain (`@langchain/openai@1`), wired with `configuration: { fetch: client.fetch }`,
 * against the test router: invoke, stream, tools, and every status raised as the class of the
 * openai SDK LangChain runs on.
 */
import assert from "node:assert/strict";
import { ChatOpenAI } from "npm:@langchain/openai@1";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { assertSealed, STATUSES, WEATHER_TOOL, withClient } from "./_setup.ts";

const chat = (client: SecureChatCompletion, maxRetries = 0): ChatOpenAI =>
  new ChatOpenAI({
    model: "Qwen/Qwen3-0.6B",
    apiKey: "unused",
    maxRetries,
    configuration: { baseURL: "https://nomyo.invalid/v1", fetch: client.fetch },
  });

Deno.test("LangChain: ChatOpenAI.invoke() through client.fetch", async () => {
  await withClient(async (client, router) => {
    const message = await chat(client).invoke("lc-secret-1");
    assert.equal(message.content, "Echo: lc-secret-1");
    const usage = (message as unknown as { usage_metadata?: { total_tokens?: number } })
      .usage_metadata;
    assert.ok((usage?.total_tokens ?? 0) > 0);
    assertSealed(router, 1, "lc-secret-1");
  });
});

Deno.test("LangChain: ChatOpenAI.stream() chunks join to the answer", async () => {
  await withClient(async (client, router) => {
    const prompt = "a long enough prompt that the echo model sends back in more than one delta";
    const parts: string[] = [];
    for await (const chunk of await chat(client).stream(prompt)) {
      if (typeof chunk.content === "string") parts.push(chunk.content);
    }
    assert.equal(parts.join(""), `Echo: ${prompt}`);
    assert.ok(parts.filter((p) => p !== "").length > 1, "several deltas");
    assertSealed(router, 1, "long enough prompt");
  });
});

Deno.test("LangChain: tool calls, invoked and streamed", async () => {
  await withClient(async (client, router) => {
    const withTools = chat(client).bindTools([WEATHER_TOOL]);
    const message = await withTools.invoke("Paris");
    assert.equal(message.tool_calls?.[0]?.name, "get_weather");
    assert.deepEqual(message.tool_calls?.[0]?.args, { echo: "Paris" });

    let gathered: Awaited<ReturnType<typeof withTools.invoke>> | undefined;
    for await (const chunk of await withTools.stream("Rome")) {
      gathered = gathered === undefined ? chunk : gathered.concat(chunk);
    }
    assert.equal(gathered?.tool_calls?.[0]?.name, "get_weather");
    assert.deepEqual(gathered?.tool_calls?.[0]?.args, { echo: "Rome" });
    assertSealed(router, 2, "Rome");
  });
});

Deno.test("LangChain: each router status raises the openai SDK's class", async () => {
  await withClient(async (client, router) => {
    for (const [status, name] of STATUSES) {
      router.inject({ status, detail: `router says ${status}` });
      await assert.rejects(chat(client).invoke("a"), (e: unknown) => {
        assert.equal((e as Error).constructor.name, name, `${status}`);
        assert.equal((e as { status?: number }).status, status);
        assert.match((e as Error).message, new RegExp(`router says ${status}`));
        return true;
      });
    }
    assert.equal(router.requests.filter((r) => r.method === "POST").length, STATUSES.length);
  });
});

Deno.test("LangChain: a tampered answer is never retried", async () => {
  await withClient(async (client, router) => {
    router.inject({ tamper: "tag", times: 5 });
    const error = await chat(client, 3).invoke("a").catch((e) => e);
    assert.equal(error.constructor.name, "BadRequestError");
    assert.equal(error.status, 400);
    assert.match(error.message, /decryption failed/);
    assertSealed(router, 1, "never");
  });
});
