/**
 * Type-level test: OpenAI's types fit ours both ways, under the project's strict flags
 * (`exactOptionalPropertyTypes` included). `deno check tests/` fails when they stop fitting;
 * the `@ts-expect-error` lines fail it when a check stops checking.
 */
import assert from "node:assert/strict";
import type OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
} from "../../src/protocol/chat.ts";

/** Compiles only when `A` is assignable to `B`. */
type Fits<A, B> = [A] extends [B] ? true : false;
const yes = <T extends true>(): T => true as T;
/** `T` without the keys `K` (`Omit` would drop every named key of a type with an index signature). */
type Without<T, K> = { [P in keyof T as P extends K ? never : P]: T[P] };

// Our results are openai's results, but for the values openai's types leave out: `object` and
// `finish_reason` also admit what other servers send (vLLM's "abort", TGI's "eos_token", null).
type Widened = "object" | "choices";
yes<Fits<Without<ChatCompletion, Widened>, Omit<OpenAI.ChatCompletion, Widened>>>();
yes<
  Fits<
    Without<ChatCompletionChoice, "finish_reason">,
    Omit<OpenAI.ChatCompletion.Choice, "finish_reason">
  >
>();
yes<Fits<ChatCompletion["choices"][number]["message"], OpenAI.ChatCompletionMessage>>();
yes<Fits<Without<ChatCompletionChunk, Widened>, Omit<OpenAI.ChatCompletionChunk, Widened>>>();
yes<
  Fits<
    Without<ChatCompletionChunkChoice, "finish_reason">,
    Omit<OpenAI.ChatCompletionChunk.Choice, "finish_reason">
  >
>();
// Every value openai's types name is one of ours.
yes<Fits<OpenAI.ChatCompletion.Choice["finish_reason"], ChatCompletionChoice["finish_reason"]>>();
yes<Fits<OpenAI.ChatCompletion["object"], ChatCompletion["object"]>>();
yes<
  Fits<
    OpenAI.ChatCompletionChunk.Choice["finish_reason"],
    ChatCompletionChunkChoice["finish_reason"]
  >
>();
// Checks that can fail: ours admit reasons openai's type leaves out, and openai's completion
// lacks `_metadata`.
// @ts-expect-error: a finish reason of ours may be "abort", which openai's type does not name
yes<Fits<ChatCompletion, OpenAI.ChatCompletion>>();
// @ts-expect-error: the same for the chunks
yes<Fits<ChatCompletionChunk, OpenAI.ChatCompletionChunk>>();
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
  const completion: ChatCompletion = await client.create(nonStreaming);
  // Code typed with openai's types takes our results with a cast (the values differ only where
  // openai's type names fewer than servers send).
  const asOpenAi = completion as OpenAI.ChatCompletion;
  const stream = (await client.create(streaming)) as AsyncIterable<OpenAI.ChatCompletionChunk>;
  const alsoStream: AsyncIterable<ChatCompletionChunk> = await client.chat.completions.create(
    streaming,
  );
  const fromMessages: ChatCompletion = await client.create({
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
  void [either, viaNamespace, completion, asOpenAi, stream, alsoStream, fromMessages];
};

Deno.test("OpenAI types fit create() both ways (checked by deno check)", () => {
  assert.equal(typeof _calls, "function");
});
