/**
 * A decrypted answer whose tool call has a name no function can have (a megabyte of text,
 * control characters, the answer's confidential words) and arguments that are not JSON: the
 * `AiError` says so without repeating the name. Also: a tool call whose arguments nest 10^5
 * deep is no defect, in `generateText` nor `streamText`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel";
import * as Tool from "@effect/ai/Tool";
import * as Toolkit from "@effect/ai/Toolkit";
import assert from "node:assert/strict";
import { Cause, Effect, Exit, Layer, Schema, Stream } from "effect";
import { type ChatCompletion, SecureCompletion } from "../../mod.ts";
import { layer } from "../../src/effect_ai/mod.ts";

const Echo = Tool.make("echo", { parameters: { echo: Schema.Unknown }, success: Schema.String });
const Kit = Toolkit.make(Echo);
const Handlers = Kit.toLayer({ echo: () => Effect.succeed("done") });

const answerCalling = (name: string, args: string): ChatCompletion => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: "call-1", type: "function", function: { name, arguments: args } }],
    },
    finish_reason: "tool_calls",
    logprobs: null,
  }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  _metadata: {
    payload_id: "p",
    processed_at: 1,
    is_encrypted: true,
    encryption_algorithm: "hybrid-aes256-rsa4096",
    response_status: "success",
  },
});

const run = (answer: ChatCompletion, stream: boolean) => {
  const secure = Layer.succeed(
    SecureCompletion,
    { create: () => Effect.succeed(answer) } as unknown as SecureCompletion,
  );
  const live = Layer.merge(layer({ model: "m" }).pipe(Layer.provide(secure)), Handlers);
  const ask = { prompt: "x", toolkit: Kit };
  const program: Effect.Effect<unknown, unknown> = stream
    ? Stream.runDrain(LanguageModel.streamText(ask)).pipe(Effect.provide(live))
    : LanguageModel.generateText(ask).pipe(Effect.provide(live));
  return Effect.runPromiseExit(program);
};

for (const stream of [false, true]) {
  const method = stream ? "streamText" : "generateText";
  Deno.test(`LanguageModel.${method}() names no invalid tool name in its error`, async () => {
    const secret = "CONFIDENTIAL Jane Roe Z99.89 ";
    for (const name of [secret.repeat(40_000), `get\nweather ${secret}`, ""]) {
      const exit = await run(answerCalling(name, "{not json"), stream);
      assert.ok(Exit.isFailure(exit) && !Cause.isDie(exit.cause), "a typed failure");
      const error = Cause.squash(exit.cause) as Error;
      assert.match(error.message, /arguments of a tool with an invalid name are not JSON/);
      const seen = `${error.message}\n${String(error)}\n${JSON.stringify(error)}`;
      assert.ok(!seen.includes("Jane Roe"), "the name leaked into the error");
      assert.ok(seen.length < 2_000, `the error is ${seen.length} characters`);
    }
  });

  Deno.test(`LanguageModel.${method}() takes tool arguments nested 10^5 deep without a defect`, async () => {
    const deep = `{"echo":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const exit = await run(answerCalling("echo", deep), stream);
    assert.ok(!(Exit.isFailure(exit) && Cause.isDie(exit.cause)), "no defect");
  });
}
