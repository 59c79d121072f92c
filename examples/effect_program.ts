/**
 * An Effect program composing the client's layers: the SecureCompletion service, typed errors
 * with catchTag, concurrency and interruption, all disposed with the program's scope.
 *
 *   npx --yes deno@2 run --allow-net=127.0.0.1 --allow-read --allow-env examples/effect_program.ts
 */
import { Console, Effect } from "effect";
import { nomyoLayerFetch, SecureCompletion } from "../mod.ts";
import { testRouter } from "../src/testing/mod.ts";

const program = Effect.gen(function* () {
  const router = yield* testRouter(); // closed when the scope closes
  const questions = ["Paris?", "Berlin?", "Rome?"];
  const answers = yield* Effect.gen(function* () {
    const completions = yield* SecureCompletion;
    return yield* Effect.forEach(
      questions,
      (q) =>
        completions.create({ model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content: q }] })
          .pipe(
            Effect.map((a) => a.choices[0]?.message.content ?? ""),
            Effect.catchTags({
              RateLimitError: (e) => Effect.succeed(`(rate limited, retry in ${e.retryAfter}s)`),
              SecurityError: (e) => Effect.succeed(`(refused: ${e.reason})`),
            }),
          ),
      { concurrency: "unbounded" },
    );
  }).pipe(
    Effect.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, keySize: 2048 })),
  );
  yield* Console.log(answers.join("\n"));
});

await Effect.runPromise(Effect.scoped(program));
