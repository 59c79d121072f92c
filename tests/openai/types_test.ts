/**
 * Type-level test: OpenAI's types fit ours both ways, under the project's strict flags
 * (`exactOptionalPropertyTypes` included). `deno check tests/` fails when they stop fitting;
 * the `@ts-expect-error` lines fail it when a check stops checking.
 */
import assert from "node:assert/strict";
import type OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import type { ChatCompletion, ChatCompletionChunk } from "../../src/protocol/chat.ts";

/** Compiles only when `A` is assignable to `B`. */
type Fits<A, B> = [A] extends [B] ? true : false;
const yes = <T extends true>(): T => true as T;

// Our results are openai's results.
yes<Fits<ChatCompletion, OpenAI.ChatCompletion>>();
yes<Fits<ChatCompletion["choices"][number]["message"], OpenAI.ChatCompletionMessage>>();
yes<Fits<ChatCompletionChunk, OpenAI.ChatCompletionChunk>>();
// And a check that can fail: openai's completion lacks `_metadata`.
// @ts-expect-error: not every openai completion is one of ours
yes<Fits<OpenAI.ChatCompletion, ChatCompletion>>();

/** What must compile: openai's request types handed to both doors without a cast. */
const _calls = async (
  client: SecureChatCompletion,
  params: OpenAI.ChatCompletionCreateParams,
  nonStreaming: OpenAI.ChatCompletionCreateParamsNonStreaming,
  streaming: OpenAI.ChatCompletionCreateParamsStreaming,
  messages: OpenAI.ChatCompletionMessageParam[],
  tools: OpenAI.ChatCompletionTool[],
): Promise<void> => {
  const either = await client.create(params);
  const viaNamespace = await client.chat.completions.create(params);
  const completion: OpenAI.ChatCompletion = await client.create(nonStreaming);
  const stream: AsyncIterable<OpenAI.ChatCompletionChunk> = await client.create(streaming);
  const alsoStream: AsyncIterable<ChatCompletionChunk> = await client.chat.completions.create(
    streaming,
  );
  const fromMessages: OpenAI.ChatCompletion = await client.create({
    model: "m",
    messages,
    tools,
    temperature: 0.2,
    response_format: { type: "json_object" },
    top_k: 20, // a parameter openai does not know still reaches the router
    security_tier: "high",
  });
  const chunks = client.create({ model: "m", messages, stream: true });
  for await (const chunk of await chunks) chunk.choices[0]?.delta.content satisfies unknown;
  // @ts-expect-error: the model must be a string
  await client.create({ model: 1, messages });
  // @ts-expect-error: an unknown tier is refused at compile time too
  await client.create({ model: "m", messages, security_tier: "ultra" });
  void [either, viaNamespace, completion, stream, alsoStream, fromMessages];
};

Deno.test("OpenAI types fit create() both ways (checked by deno check)", () => {
  assert.equal(typeof _calls, "function");
});
