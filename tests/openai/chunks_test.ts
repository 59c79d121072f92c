/**
 * The streaming shape: `completionToChunks()`, the SSE encoding, and `create({ stream: true })`.
 */
import assert from "node:assert/strict";
import { chunkStream, completionToChunks, textPieces } from "../../src/openai/chunks.ts";
import { encodeEvent, sseBody } from "../../src/openai/sse.ts";
import type { ChatCompletion, ChatCompletionChunk } from "../../src/protocol/chat.ts";
import { ask, assertSealed, lastPlaintext, WEATHER_TOOL, withClient } from "./_setup.ts";

const metadata = {
  payload_id: "p-1",
  is_encrypted: true as const,
  encryption_algorithm: "hybrid-aes256-rsa4096",
  response_status: "success" as const,
};

const completion = (over: Partial<ChatCompletion> = {}): ChatCompletion => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1700000000,
  model: "m",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "hello world", refusal: null },
    finish_reason: "stop",
    logprobs: null,
  }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  _metadata: metadata,
  ...over,
});

const contentOf = (chunks: ReadonlyArray<ChatCompletionChunk>, index = 0): string =>
  chunks.flatMap((c) => c.choices.filter((ch) => ch.index === index))
    .map((ch) => ch.delta.content ?? "").join("");

Deno.test("textPieces() joins back to any text, never splitting a surrogate pair", () => {
  const texts = [
    "",
    " ",
    "one",
    "  leading and trailing  ",
    "line\nbreaks\r\nand\ttabs ".repeat(20),
    "🚀 ".repeat(200),
    "x".repeat(10_000),
    Array.from({ length: 500 }, (_, i) => `w${i}`).join(" "),
  ];
  for (const text of texts) {
    const pieces = textPieces(text);
    assert.equal(pieces.join(""), text);
    assert.ok(pieces.every((p) => p.length > 0));
    for (const p of pieces) {
      const last = p.charCodeAt(p.length - 1);
      assert.ok(!(last >= 0xd800 && last <= 0xdbff), "no lone high surrogate at a cut");
    }
    assert.ok(pieces.slice(0, -1).every((p) => p.length >= 64), "pieces are not tiny");
    assert.ok(pieces.length <= 1025, "a long text is not cut into tiny pieces");
  }
  const huge = "word ".repeat(500_000);
  const hugePieces = textPieces(huge);
  assert.equal(hugePieces.join(""), huge);
  assert.ok(hugePieces.length <= 1025 && hugePieces.length > 900, `${hugePieces.length} pieces`);
  assert.deepEqual(textPieces(""), []);
});

Deno.test("completionToChunks() sends role, content, finish reason; _metadata last", () => {
  const chunks = completionToChunks(completion());
  assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === "chatcmpl-1"));
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "" });
  assert.equal(contentOf(chunks), "hello world");
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "stop");
  assert.ok(chunks.slice(0, -1).every((c) => c.choices[0]?.finish_reason === null));
  assert.deepEqual(chunks.at(-1)?._metadata, metadata);
  assert.ok(chunks.slice(0, -1).every((c) => c._metadata === undefined));
  assert.ok(chunks.every((c) => !("usage" in c)));
});

Deno.test("completionToChunks() adds a usage chunk with includeUsage", () => {
  const chunks = completionToChunks(completion(), { includeUsage: true });
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  assert.deepEqual(last._metadata, metadata);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  const { usage: _, ...noUsage } = completion();
  assert.equal(
    completionToChunks(noUsage as ChatCompletion, { includeUsage: true }).at(-1)?.usage,
    null,
  );
});

Deno.test("completionToChunks() sends tool calls as indexed deltas, and every choice", () => {
  const chunks = completionToChunks(completion({
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "a", arguments: '{"x":1}' } },
            { id: "c2", type: "function", function: { name: "b", arguments: "" } },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
      {
        index: 1,
        message: { role: "assistant", content: "second", refusal: "no", reasoning_content: "hmm" },
        finish_reason: "length",
        logprobs: { content: [], refusal: null },
      },
    ],
  }));
  const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  assert.deepEqual(calls, [
    { index: 0, id: "c1", type: "function", function: { name: "a", arguments: "" } },
    { index: 0, function: { arguments: '{"x":1}' } },
    { index: 1, id: "c2", type: "function", function: { name: "b", arguments: "" } },
  ]);
  assert.equal(contentOf(chunks, 0), "");
  assert.equal(contentOf(chunks, 1), "second");
  const second = chunks.flatMap((c) => c.choices).filter((c) => c.index === 1);
  assert.equal(second.map((c) => c.delta.refusal ?? "").join(""), "no");
  assert.equal(second.map((c) => c.delta.reasoning_content ?? "").join(""), "hmm");
  assert.deepEqual(second.at(-1)?.logprobs, { content: [], refusal: null });
  const finishes = chunks.flatMap((c) => c.choices).filter((c) => c.finish_reason !== null);
  assert.deepEqual(finishes.map((c) => [c.index, c.finish_reason]), [[0, "tool_calls"], [
    1,
    "length",
  ]]);
});

Deno.test("SSE events are one data line each, whatever the answer holds, then [DONE]", async () => {
  const text = "a\nb\r\n\ndata: fake\n\n\u2028end";
  const chunks = completionToChunks(completion({
    choices: [{
      index: 0,
      message: { role: "assistant", content: text, refusal: null },
      finish_reason: "stop",
      logprobs: null,
    }],
  }));
  const body = await new Response(sseBody(chunks)).text();
  const events = body.split("\n\n");
  assert.equal(events.pop(), "");
  assert.equal(events.pop(), "data: [DONE]");
  assert.equal(events.length, chunks.length);
  const parsed = events.map((e) => {
    assert.ok(e.startsWith("data: ") && !e.includes("\n"));
    return JSON.parse(e.slice(6)) as ChatCompletionChunk;
  });
  assert.equal(contentOf(parsed), text);
  assert.equal(new TextDecoder().decode(encodeEvent("[DONE]")), "data: [DONE]\n\n");
});

Deno.test("chunkStream() yields the chunks in order, and again on a second loop", async () => {
  const chunks = completionToChunks(completion());
  const stream = chunkStream(() => chunks);
  const seen: ChatCompletionChunk[] = [];
  for await (const c of stream) seen.push(c);
  assert.deepEqual(seen, chunks);
  const again: ChatCompletionChunk[] = [];
  for await (const c of stream) again.push(c);
  assert.deepEqual(again, chunks);
});

Deno.test("create({ stream: true }) iterates chunks that join to the answer", async () => {
  await withClient(async (client, router) => {
    const prompt = "stream-secret " + "more words ".repeat(20);
    const stream = await client.create({
      ...ask(prompt),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(contentOf(chunks), `Echo: ${prompt}`);
    assert.ok(chunks.length > 4);
    assert.equal(chunks.at(-1)?._metadata?.is_encrypted, true);
    assert.ok((chunks.at(-1)?.usage?.total_tokens ?? 0) > 0);
    const plaintext = lastPlaintext(router);
    assert.equal("stream" in plaintext, false);
    assert.equal("stream_options" in plaintext, false);
    assertSealed(router, 1, "stream-secret");

    const tools = await client.chat.completions.create({
      ...ask("Oslo"),
      tools: [WEATHER_TOOL],
      stream: true,
    });
    const calls = [];
    for await (const chunk of tools) calls.push(...chunk.choices[0]?.delta.tool_calls ?? []);
    assert.equal(calls[0]?.function?.name, "get_weather");
    const plain = await client.create({ ...ask("x"), stream: false });
    assert.equal(plain.choices[0]?.message.content, "Echo: x");
    assert.equal("stream" in lastPlaintext(router), false);
  });
});

Deno.test("create({ stream: true }) rejects before iterating when the router fails", async () => {
  await withClient(async (client, router) => {
    router.inject({ status: 401 });
    await assert.rejects(client.create({ ...ask("x"), stream: true }), { status: 401 });
  });
});
