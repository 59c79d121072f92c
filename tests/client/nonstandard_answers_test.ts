/**
 * An authentic answer is never refused for a value only OpenAI's lists leave out: a
 * `finish_reason` of vLLM's and SGLang's `"abort"`, TGI's `"eos_token"`, `null`, or another
 * `object`, opens through every door (`create()`, `create({ stream: true })`, `client.fetch`
 * as JSON and as an event stream, Effect AI's `generateText` and `streamText`) and reaches the
 * caller verbatim (Effect AI: as `"unknown"`, as `@effect/ai-openai` reads a reason it does not
 * know). A plaintext without a chat completion's field types is a typed refusal at each door.
 */
import assert from "node:assert/strict";
import * as LanguageModel from "@effect/ai/LanguageModel";
import { Cause, Chunk, Effect, Exit, Layer, Option, Stream } from "effect";
import { nomyoLayerFetch } from "../../src/client/layer.ts";
import { layer } from "../../src/effect_ai/mod.ts";
import { SecurityError } from "../../src/errors.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import type { ChatCompletionChunk } from "../../src/protocol/chat.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";

interface Case {
  readonly name: string;
  readonly finishReason: string | null;
  readonly object?: string;
}

const CASES: ReadonlyArray<Case> = [
  { name: "vLLM's abort", finishReason: "abort" },
  { name: "TGI's eos_token", finishReason: "eos_token" },
  { name: "a null finish reason", finishReason: null },
  { name: "another object", finishReason: "stop", object: "chat.completion.custom" },
];

/** What the router's next answers say (set by each case). */
let current: Case = CASES[0]!;
/** When set, the router seals this instead of a completion. */
let replacement: unknown = undefined;

const rewrite = (completion: Record<string, unknown>): unknown =>
  replacement !== undefined ? replacement : ({
    ...completion,
    ...(current.object === undefined ? {} : { object: current.object }),
    choices: (completion.choices as ReadonlyArray<Record<string, unknown>>).map((choice) => ({
      ...choice,
      finish_reason: current.finishReason,
    })),
  });

const ask = (content: string) => ({
  model: "Qwen/Qwen3-0.6B",
  messages: [{ role: "user" as const, content }],
});

const CLIENT = { allowHttp: true, keySize: 2048 as const, maxRetries: 0 };

/** Runs `body` with a router whose answers `rewrite` changes, and a client on it. */
const withRouter = async (
  body: (router: TestRouter, client: SecureChatCompletion) => Promise<void>,
): Promise<void> => {
  const router = await startTestRouter({ answer: rewrite });
  const client = new SecureChatCompletion({ ...CLIENT, baseUrl: router.url });
  try {
    await body(router, client);
  } finally {
    await client.dispose();
    await router.close();
  }
};

const post = (client: SecureChatCompletion, body: unknown): Promise<Response> =>
  client.fetch("http://nomyo.invalid/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The chunks of an event stream body (`data: [DONE]` left out). */
const sseChunks = async (response: Response): Promise<ChatCompletionChunk[]> =>
  (await response.text()).split("\n\n").filter((e) => e !== "" && e !== "data: [DONE]")
    .map((e) => JSON.parse(e.replace(/^data: /, "")) as ChatCompletionChunk);

/** The last chunk of choice 0 (the one with its finish reason). */
const finishChunk = (chunks: ReadonlyArray<ChatCompletionChunk>) =>
  chunks.filter((c) => c.choices[0]?.index === 0).at(-1)?.choices[0];

Deno.test("create() and create({ stream: true }) pass another server's finish_reason and object verbatim", async () => {
  await withRouter(async (_router, client) => {
    for (const c of CASES) {
      current = c;
      const completion = await client.create(ask("plain"));
      assert.equal(completion.choices[0]?.finish_reason, c.finishReason, c.name);
      assert.equal(completion.object, c.object ?? "chat.completion", c.name);
      assert.equal(completion.choices[0]?.message.content, "Echo: plain", c.name);

      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of await client.create({ ...ask("streamed"), stream: true })) {
        chunks.push(chunk);
      }
      const text = chunks.map((ch) => ch.choices[0]?.delta.content ?? "").join("");
      assert.equal(text, "Echo: streamed", c.name);
      assert.equal(finishChunk(chunks)?.finish_reason, c.finishReason, c.name);
      assert.ok(chunks.every((ch) => ch.object === "chat.completion.chunk"), c.name);
      assert.equal(chunks.at(-1)?._metadata?.is_encrypted, true, c.name);
    }
  });
});

Deno.test("client.fetch answers another server's finish_reason and object verbatim, as JSON and SSE", async () => {
  await withRouter(async (_router, client) => {
    for (const c of CASES) {
      current = c;
      const response = await post(client, ask("fetched"));
      assert.equal(response.status, 200, c.name);
      const answer = await response.json();
      assert.equal(answer.choices[0].finish_reason, c.finishReason, c.name);
      assert.equal(answer.object, c.object ?? "chat.completion", c.name);
      assert.equal(answer.choices[0].message.content, "Echo: fetched", c.name);

      const streamed = await post(client, { ...ask("fetched"), stream: true });
      assert.equal(streamed.status, 200, c.name);
      assert.match(streamed.headers.get("content-type") ?? "", /^text\/event-stream/);
      const chunks = await sseChunks(streamed);
      assert.equal(finishChunk(chunks)?.finish_reason, c.finishReason, c.name);
    }
  });
});

Deno.test("Effect AI generateText() and streamText() read another server's finish_reason as unknown", async () => {
  await withRouter(async (router) => {
    const live = layer({ model: "echo" }).pipe(
      Layer.provide(nomyoLayerFetch({ ...CLIENT, baseUrl: router.url })),
      Layer.orDie,
    );
    const results = await Effect.runPromise(
      Effect.forEach(CASES, (c) =>
        Effect.gen(function* () {
          current = c;
          const response = yield* LanguageModel.generateText({ prompt: "ai" });
          const parts = yield* LanguageModel.streamText({ prompt: "ai stream" }).pipe(
            Stream.runCollect,
            Effect.map(Chunk.toArray),
          );
          const finish = parts.find((p) => p.type === "finish");
          return {
            name: c.name,
            text: response.text,
            reason: response.finishReason,
            streamed: finish?.type === "finish" ? finish.reason : undefined,
          };
        })).pipe(Effect.provide(live)),
    );
    for (const r of results) {
      assert.equal(r.text, "Echo: ai", r.name);
      // OpenAI's "stop" under another object name stays "stop"; other reasons are unknown.
      const expected = r.name === "another object" ? "stop" : "unknown";
      assert.equal(r.reason, expected, r.name);
      assert.equal(r.streamed, expected, r.name);
    }
  });
});

Deno.test("a plaintext without a chat completion's types is a typed refusal at every door", async () => {
  replacement = { detail: "an authentic answer, but no chat completion" };
  try {
    await withRouter(async (router, client) => {
      const refused = (e: unknown): boolean =>
        e instanceof SecurityError && e.reason === "MalformedPlaintext";
      await assert.rejects(client.create(ask("typed")), refused);
      await assert.rejects(client.create({ ...ask("typed"), stream: true }), refused);
      const response = await post(client, ask("typed"));
      assert.equal(response.status, 400);
      const body = await response.json();
      assert.equal(body.error.type, "security_error");
      assert.equal(body.error.code, "MalformedPlaintext");
      const live = layer({ model: "echo" }).pipe(
        Layer.provide(nomyoLayerFetch({ ...CLIENT, baseUrl: router.url })),
        Layer.orDie,
      );
      const exit = await Effect.runPromiseExit(
        LanguageModel.generateText({ prompt: "typed" }).pipe(Effect.provide(live)),
      );
      assert.ok(Exit.isFailure(exit));
      const failure = Cause.failureOption(exit.cause);
      assert.ok(Option.isSome(failure));
      assert.equal(failure.value._tag, "MalformedOutput");
    });
  } finally {
    replacement = undefined;
  }
});
