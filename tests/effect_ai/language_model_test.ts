import * as LanguageModel from "@effect/ai/LanguageModel";
import * as Prompt from "@effect/ai/Prompt";
import * as Tool from "@effect/ai/Tool";
import * as Toolkit from "@effect/ai/Toolkit";
import { Cause, Chunk, Effect, Exit, Layer, Option, Schema, Stream } from "effect";
import assert from "node:assert/strict";
import * as Chat from "@effect/ai/Chat";
import * as AiModel from "@effect/ai/Model";
import { nomyoLayerFetch } from "../../mod.ts";
import { layer, model, withConfigOverride } from "../../src/effect_ai/mod.ts";
import { assertSealed, completions, onlyPlaintext, withModel } from "./_helpers.ts";

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { echo: Schema.String },
  success: Schema.String,
});
const Weather = Toolkit.make(GetWeather);
const WeatherHandlers = Weather.toLayer({
  get_weather: ({ echo }) => Effect.succeed(`sunny in ${echo}`),
});

Deno.test("LanguageModel.generateText() returns the decrypted answer through layer({ model })", async () => {
  await withModel(async ({ router, live }) => {
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "Hello confidential world" }).pipe(Effect.provide(live)),
    );
    assert.equal(response.text, "Echo: Hello confidential world");
    assert.equal(response.finishReason, "stop");
    assert.equal(response.usage.inputTokens, 3);
    assert.equal(response.usage.outputTokens, 4);
    assert.equal(response.usage.totalTokens, 7);

    const [sent] = completions(router);
    assert.ok(sent !== undefined);
    assertSealed(sent, "confidential");
    assert.deepEqual(sent.plaintext, {
      model: "echo",
      messages: [{ role: "user", content: "Hello confidential world" }],
    });
    const meta = response.content.find((p) => p.type === "response-metadata");
    assert.ok(meta?.type === "response-metadata");
    assert.deepEqual(meta.modelId, Option.some("echo"));
    assert.equal(meta.metadata.nomyo?.payload_id, sent.payloadId);
    assert.equal(meta.metadata.nomyo?.is_encrypted, true);
  });
});

Deno.test("generateText() maps system, user and assistant messages and image parts", async () => {
  await withModel(async ({ router, live }) => {
    const prompt: Prompt.RawInput = [
      { role: "system", content: "Be brief" },
      { role: "user", content: "first" },
      { role: "assistant", content: [{ type: "text", text: "an answer" }] },
      {
        role: "user",
        content: [
          { type: "text", text: "look at" },
          { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
          { type: "text", text: "this" },
        ],
      },
    ];
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt }).pipe(Effect.provide(live)),
    );
    assert.equal(response.text, "Echo: look at this");
    assert.deepEqual(onlyPlaintext(router).messages, [
      { role: "system", content: "Be brief" },
      { role: "user", content: "first" },
      { role: "assistant", content: "an answer" },
      {
        role: "user",
        content: [
          { type: "text", text: "look at" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } },
          { type: "text", text: "this" },
        ],
      },
    ]);
  });
});

Deno.test("LanguageModel.streamText() emits the whole answer as one delta, then finish", async () => {
  await withModel(async ({ router, live }) => {
    const parts = await Effect.runPromise(
      LanguageModel.streamText({ prompt: "stream me" }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(live),
      ),
    );
    assert.deepEqual(parts.map((p) => p.type), [
      "response-metadata",
      "text-start",
      "text-delta",
      "text-end",
      "finish",
    ]);
    const delta = parts.find((p) => p.type === "text-delta");
    assert.ok(delta?.type === "text-delta");
    assert.equal(delta.delta, "Echo: stream me");
    const finish = parts.at(-1);
    assert.ok(finish?.type === "finish");
    assert.equal(finish.reason, "stop");
    assert.equal(finish.usage.outputTokens, 3);
    assertSealed(completions(router)[0]!, "stream me");
  });
});

Deno.test("a Toolkit call round-trips: tool_calls → handler → tool message → answer", async () => {
  await withModel(async ({ router, live }) => {
    const program = Effect.gen(function* () {
      const first = yield* LanguageModel.generateText({ prompt: "Paris", toolkit: Weather });
      const followUp = Prompt.merge(Prompt.make("Paris"), Prompt.fromResponseParts(first.content));
      const second = yield* LanguageModel.generateText({ prompt: followUp, toolkit: Weather });
      return { first, second };
    });
    const { first, second } = await Effect.runPromise(
      program.pipe(Effect.provide(Layer.merge(live, WeatherHandlers))),
    );
    assert.equal(first.finishReason, "tool-calls");
    const [call] = first.toolCalls;
    assert.ok(call !== undefined);
    assert.equal(call.name, "get_weather");
    assert.deepEqual(call.params, { echo: "Paris" });
    assert.equal(first.toolResults[0]?.result, "sunny in Paris");
    assert.equal(first.toolResults[0]?.id, call.id);

    assert.equal(second.finishReason, "stop");
    assert.equal(second.text, 'Tool result: "sunny in Paris"');

    const [one, two] = completions(router);
    assert.ok(one !== undefined && two !== undefined);
    assertSealed(one, "Paris");
    assertSealed(two, "sunny in");
    const firstBody = one.plaintext as Record<string, unknown>;
    assert.deepEqual(firstBody.tools, [{
      type: "function",
      function: {
        name: "get_weather",
        description: "The weather in a city",
        parameters: {
          type: "object",
          required: ["echo"],
          properties: { echo: { type: "string" } },
          additionalProperties: false,
        },
      },
    }]);
    assert.equal(firstBody.tool_choice, "auto");
    assert.deepEqual((two.plaintext as Record<string, unknown>).messages, [
      { role: "user", content: "Paris" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: call.id,
          type: "function",
          function: { name: "get_weather", arguments: '{"echo":"Paris"}' },
        }],
      },
      { role: "tool", tool_call_id: call.id, content: '"sunny in Paris"' },
    ]);
  });
});

Deno.test("streamText() with a Toolkit streams the call's params, the call and its result", async () => {
  await withModel(async ({ live }) => {
    const parts = await Effect.runPromise(
      LanguageModel.streamText({ prompt: "Rome", toolkit: Weather }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(Layer.merge(live, WeatherHandlers)),
      ),
    );
    assert.deepEqual(parts.map((p) => p.type), [
      "response-metadata",
      "tool-params-start",
      "tool-params-delta",
      "tool-params-end",
      "tool-call",
      "finish",
      "tool-result",
    ]);
    const delta = parts.find((p) => p.type === "tool-params-delta");
    assert.ok(delta?.type === "tool-params-delta");
    assert.deepEqual(JSON.parse(delta.delta), { echo: "Rome" });
    const result = parts.find((p) => p.type === "tool-result");
    assert.ok(result?.type === "tool-result");
    assert.equal(result.result, "sunny in Rome");
  });
});

Deno.test("toolChoice maps to tool_choice: a named tool, none, required", async () => {
  await withModel(async ({ router, live }) => {
    type Needs = LanguageModel.LanguageModel | Tool.Handler<"get_weather">;
    const run = <A, E>(effect: Effect.Effect<A, E, Needs>) =>
      Effect.runPromise(effect.pipe(Effect.provide(Layer.merge(live, WeatherHandlers))));
    const disabled = { toolkit: Weather, disableToolCallResolution: true } as const;
    const named = await run(
      LanguageModel.generateText({ prompt: "a", ...disabled, toolChoice: { tool: "get_weather" } }),
    );
    assert.equal(named.toolCalls[0]?.name, "get_weather");
    const none = await run(
      LanguageModel.generateText({ prompt: "b", ...disabled, toolChoice: "none" }),
    );
    assert.equal(none.text, "Echo: b");
    assert.equal(none.toolCalls.length, 0);
    await run(LanguageModel.generateText({ prompt: "c", ...disabled, toolChoice: "required" }));
    await run(
      LanguageModel.generateText({
        prompt: "d",
        ...disabled,
        toolChoice: { mode: "required", oneOf: ["get_weather"] },
      }),
    );
    assert.deepEqual(
      completions(router).map((r) => (r.plaintext as Record<string, unknown>).tool_choice),
      [{ type: "function", function: { name: "get_weather" } }, "none", "required", "required"],
    );
  });
});

Deno.test("LanguageModel.generateObject() sends response_format json_schema and decodes the object", async () => {
  await withModel(async ({ router, live }) => {
    const City = Schema.Struct({ echo: Schema.String }).annotations({
      description: "A city",
    });
    const response = await Effect.runPromise(
      LanguageModel.generateObject({ prompt: "Lisbon", schema: City, objectName: "city" }).pipe(
        Effect.provide(live),
      ),
    );
    assert.deepEqual(response.value, { echo: "Lisbon" });
    assert.deepEqual(onlyPlaintext(router).response_format, {
      type: "json_schema",
      json_schema: {
        name: "city",
        description: "A city",
        schema: {
          type: "object",
          required: ["echo"],
          properties: { echo: { type: "string" } },
          additionalProperties: false,
          description: "A city",
        },
      },
    });
  });
});

Deno.test("generateObject() fails with MalformedOutput when the answer does not fit the schema", async () => {
  await withModel(async ({ live }) => {
    const Wrong = Schema.Struct({ city: Schema.String });
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateObject({ prompt: "x", schema: Wrong }).pipe(Effect.provide(live)),
    );
    assert.ok(exit._tag === "Failure");
    assert.match(String(exit.cause), /MalformedOutput/);
  });
});

Deno.test("layer config and withConfigOverride set tier, model and parameters", async () => {
  await withModel(async ({ router, live }) => {
    const ask = (prompt: string) => LanguageModel.generateText({ prompt });
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* ask("one");
        yield* ask("two").pipe(
          withConfigOverride({
            securityTier: "standard",
            model: "other-model",
            params: { max_tokens: 5 },
          }),
        );
        yield* withConfigOverride(ask("three"), { params: { seed: 1 } }).pipe(
          withConfigOverride({ params: { max_tokens: 9 } }),
        );
      }).pipe(Effect.provide(live)),
    );
    const [one, two, three] = completions(router);
    assert.equal(one?.headers["x-security-tier"], "high");
    assert.deepEqual(one?.plaintext, {
      temperature: 0.25,
      model: "echo",
      messages: [{ role: "user", content: "one" }],
    });
    assert.equal(two?.headers["x-security-tier"], "standard");
    assert.deepEqual(two?.plaintext, {
      temperature: 0.25,
      max_tokens: 5,
      model: "other-model",
      messages: [{ role: "user", content: "two" }],
    });
    assert.equal(three?.headers["x-security-tier"], "high");
    assert.deepEqual(three?.plaintext, {
      temperature: 0.25,
      max_tokens: 9,
      seed: 1,
      model: "echo",
      messages: [{ role: "user", content: "three" }],
    });
  }, {
    layer: {
      config: {
        securityTier: "high",
        params: {
          temperature: 0.25,
          // The whole answer is what every door gives: `stream: false` asks for nothing more.
          stream: false,
        },
      },
    },
  });
});

Deno.test("model() is an @effect/ai Model named nomyo that answers through the client", async () => {
  await withModel(async ({ router }) => {
    const client = nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
    const live = model("echo", { securityTier: "standard" }).pipe(
      Layer.provide(client),
      Layer.orDie,
    );
    const [provider, response] = await Effect.runPromise(
      Effect.all([AiModel.ProviderName, LanguageModel.generateText({ prompt: "via model" })]).pipe(
        Effect.provide(live),
      ),
    );
    assert.equal(provider, "nomyo");
    assert.equal(response.text, "Echo: via model");
    assert.equal(completions(router)[0]?.headers["x-security-tier"], "standard");
  });
});

Deno.test("a Chat keeps the encrypted conversation: the second turn carries the first, tools included", async () => {
  await withModel(async ({ router, live }) => {
    const texts = await Effect.runPromise(
      Effect.gen(function* () {
        const chat = yield* Chat.empty;
        const first = yield* chat.generateText({ prompt: "Oslo", toolkit: Weather });
        const second = yield* chat.generateText({ prompt: "and tomorrow?" });
        return [first.toolResults[0]?.result, second.text];
      }).pipe(Effect.provide(Layer.merge(live, WeatherHandlers))),
    );
    assert.deepEqual(texts, ["sunny in Oslo", "Echo: and tomorrow?"]);
    const [, two] = completions(router);
    const messages = (two?.plaintext as { messages: Array<{ role: string }> }).messages;
    assert.deepEqual(messages.map((m) => m.role), ["user", "assistant", "tool", "user"]);
    assertSealed(two!, "tomorrow");
  });
});

/** The defect of an exit that died, as a TypeError. */
const diedWith = (exit: Exit.Exit<unknown, unknown>): TypeError => {
  assert.ok(Exit.isFailure(exit), "expected the effect to die");
  const defect = Cause.dieOption(exit.cause);
  assert.ok(Option.isSome(defect) && defect.value instanceof TypeError, Cause.pretty(exit.cause));
  return defect.value as TypeError;
};

Deno.test("withConfigOverride() with an unknown key dies with a TypeError naming it, and sends nothing", async () => {
  await withModel(async ({ router, live }) => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { securitytier: "maximum" },
        /unknown option "securitytier" \(did you mean "securityTier"\?\)/,
      ],
      [
        { base_url: "https://elsewhere.example" },
        /unknown option "base_url" \(did you mean "baseUrl"\?\)/,
      ],
      [{ temprature: 0 }, /unknown option "temprature" \(the options are model, params, /],
    ];
    for (const [settings, message] of cases) {
      const exit = await Effect.runPromiseExit(
        LanguageModel.generateText({ prompt: "confidential" }).pipe(
          withConfigOverride(settings as never),
          Effect.provide(live),
        ),
      );
      assert.match(diedWith(exit).message, message);
    }
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("params that the adapter or the client sets die with a TypeError naming them, and nothing is sent", async () => {
  await withModel(async ({ router, live }) => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model: "sneaky" }, /params\.model is set by the adapter \(use layer\(\{ model \}\)/],
      [{ messages: [] }, /params\.messages is set by the adapter/],
      [{ tools: [] }, /params\.tools is set by the adapter/],
      [{ response_format: { type: "json_object" } }, /params\.response_format is set/],
      [{ stream: true }, /stream, which is not accepted here \(use LanguageModel\.streamText\)/],
      [
        { security_tier: "maximum" },
        /security_tier, which is not accepted here .*config\.securityTier/,
      ],
    ];
    for (const [params, message] of cases) {
      const exit = await Effect.runPromiseExit(
        LanguageModel.generateText({ prompt: "confidential" }).pipe(
          withConfigOverride({ params } as never),
          Effect.provide(live),
        ),
      );
      assert.match(diedWith(exit).message, message);
    }
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("layer() with an unknown option or setting dies with a TypeError when it is built", async () => {
  await withModel(async ({ router }) => {
    const client = nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model: "echo", securityTier: "maximum" }, /did you mean "config\.securityTier"\?/],
      [{ model: "echo", config: { api_key: "k" } }, /did you mean "apiKey"\?/],
    ];
    for (const [options, message] of cases) {
      const exit = await Effect.runPromiseExit(
        LanguageModel.generateText({ prompt: "confidential" }).pipe(
          Effect.provide(layer(options as never).pipe(Layer.provide(client), Layer.orDie)),
        ),
      );
      assert.match(diedWith(exit).message, message);
    }
    assert.equal(completions(router).length, 0);
  });
});
