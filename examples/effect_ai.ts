/**
 * Effect AI: `@effect/ai`'s LanguageModel over end-to-end encrypted NOMYO completions.
 * generateText, streamText, a Toolkit tool call answered and sent back, generateObject, a
 * per-call security tier, and an AiError whose cause is the client's error.
 *
 *   npx --yes deno@2 run -A examples/effect_ai.ts
 *
 * With no NOMYO_BASE_URL set, it starts the embedded test router on 127.0.0.1 (a NOMYO-
 * compatible router with a deterministic echo model) and talks to it. With NOMYO_BASE_URL
 * (and NOMYO_API_KEY, NOMYO_MODEL) set, it talks to that router instead.
 */
import * as LanguageModel from "@effect/ai/LanguageModel";
import * as Prompt from "@effect/ai/Prompt";
import * as Tool from "@effect/ai/Tool";
import * as Toolkit from "@effect/ai/Toolkit";
import { Console, Effect, Layer, Schema, Stream } from "effect";
import { nomyoLayerFetch } from "../mod.ts";
import * as NomyoLanguageModel from "../src/effect_ai/mod.ts";
import { testRouter } from "../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
};

// A tool the model may call; the echo model calls it with {"echo": <the user's text>}.
const GetWeather = Tool.make("get_weather", {
  description: "Today's weather in a city",
  parameters: { echo: Schema.String },
  success: Schema.String,
});
const Weather = Toolkit.make(GetWeather);
const WeatherHandlers = Weather.toLayer({
  get_weather: ({ echo }) => Effect.succeed(`sunny, 21 °C in ${echo}`),
});

const program = Effect.gen(function* () {
  const realUrl = env("NOMYO_BASE_URL");
  const router = realUrl === undefined ? yield* testRouter() : undefined;
  if (router !== undefined) yield* Console.log(`Embedded test router on ${router.url}\n`);

  const client = nomyoLayerFetch(
    router === undefined
      ? { baseUrl: realUrl!, apiKey: env("NOMYO_API_KEY") ?? "" }
      : { baseUrl: router.url, allowHttp: true, keySize: 2048 },
  );
  const live = Layer.mergeAll(
    NomyoLanguageModel.layer({
      model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
      config: { params: { temperature: 0.2 } },
    }),
    WeatherHandlers,
  ).pipe(Layer.provide(client));

  yield* Effect.gen(function* () {
    // 1. generateText
    const hello = yield* LanguageModel.generateText({
      prompt: [
        { role: "system", content: "You are a careful clinical assistant." },
        { role: "user", content: "Summarise: patient 7, blood pressure 150/95." },
      ],
    });
    yield* Console.log(`generateText: ${hello.text}`);
    yield* Console.log(`  finish ${hello.finishReason}, ${hello.usage.totalTokens} tokens\n`);

    // 2. streamText (emulated: the protocol delivers the answer whole, after decryption)
    yield* Console.log("streamText:");
    yield* LanguageModel.streamText({ prompt: "Stream this answer" }).pipe(
      Stream.runForEach((part) =>
        part.type === "text-delta" ? Console.log(`  delta: ${part.delta}`) : Effect.void
      ),
    );

    // 3. A tool call: the model calls get_weather, the handler answers, the result goes back.
    const first = yield* LanguageModel.generateText({ prompt: "Lisbon", toolkit: Weather });
    const call = first.toolCalls[0];
    yield* Console.log(`\ntool call: ${call?.name}(${JSON.stringify(call?.params)})`);
    yield* Console.log(`  handler: ${first.toolResults[0]?.result}`);
    const followUp = Prompt.merge(Prompt.make("Lisbon"), Prompt.fromResponseParts(first.content));
    const second = yield* LanguageModel.generateText({ prompt: followUp, toolkit: Weather });
    yield* Console.log(`  answer with the result: ${second.text}\n`);

    // 4. generateObject: response_format json_schema, decoded with the schema.
    const City = Schema.Struct({ echo: Schema.String });
    const object = yield* LanguageModel.generateObject({ prompt: "Porto", schema: City });
    yield* Console.log(`generateObject: ${JSON.stringify(object.value)}\n`);

    // 5. A per-call security tier, and a typed AiError: the test router has no TPM, so the
    //    "maximum" tier is refused with 503; the client's error is the AiError's cause.
    const refused = yield* LanguageModel.generateText({ prompt: "Top secret" }).pipe(
      NomyoLanguageModel.withConfigOverride({ securityTier: "maximum" }),
      Effect.map((r) => `answered: ${r.text}`),
      Effect.catchTag("HttpResponseError", (e) =>
        Effect.succeed(
          `HttpResponseError ${e.response.status}, cause ${(e.cause as Error).name}`,
        )),
    );
    yield* Console.log(`security tier "maximum": ${refused}`);
  }).pipe(Effect.provide(live));

  if (router !== undefined) {
    const sent = router.requests.filter((r) => r.path === "/v1/chat/secure_completion");
    const leaked = sent.some((r) => new TextDecoder().decode(r.body).includes("patient 7"));
    yield* Console.log(
      `\n${sent.length} requests reached the router, all sealed; ` +
        `prompt text in a request body: ${leaked ? "YES (bug!)" : "no"}`,
    );
    if (leaked) return yield* Effect.die(new Error("the prompt crossed the wire in clear"));
  }
});

await Effect.runPromise(Effect.scoped(program));
