/**
 * An Effect 4.1 app that installed `@nomyo/effect4` and `@nomyo/client` from their npm tarballs
 * next to its own `effect@4` (.ci/npm_package.sh, app `effect4`). Type-checked with
 * `tsc --strict`, then run under Node 20, Node 24 and Bun against `@nomyo/client/testing`'s
 * router: `create`, `stream` as a v4 `Stream`, `Effect.catchTag("SecurityError")`, and the
 * layer inside the app's own Effect 4 layers. Prints `npm app: ok (…)` when every check passed;
 * any failure throws (exit code 1).
 */
import assert from "node:assert/strict";
import process from "node:process";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Stream from "effect/Stream";
import { startTestRouter } from "@nomyo/client/testing";
import { layer, NomyoClient, type NomyoClientError } from "@nomyo/effect4";

const runtime = (): string => {
  const versions = process.versions as { readonly bun?: string; readonly deno?: string };
  if (versions.deno !== undefined) return `Deno ${versions.deno}`;
  return versions.bun !== undefined ? `Bun ${versions.bun}` : `Node ${process.version}`;
};

/** A service of the app, written against NomyoClient. */
interface Greeter {
  readonly greet: (name: string) => Effect.Effect<string, NomyoClientError>;
}
const Greeter: Context.Service<Greeter, Greeter> = Context.Service<Greeter>("app/Greeter");

const router = await startTestRouter();
try {
  const GreeterLive = Layer.effect(
    Greeter,
    Effect.map(Effect.service(NomyoClient), (nomyo): Greeter => ({
      greet: (name) =>
        nomyo.create({ model: "echo", messages: [{ role: "user", content: `Hi ${name}` }] }).pipe(
          Effect.map((answer) => answer.choices[0]?.message.content ?? ""),
        ),
    })),
  );
  const AppLayer = GreeterLive.pipe(
    Layer.provideMerge(layer({ baseUrl: router.url, allowHttp: true })),
  );
  const program = Effect.gen(function* () {
    const greeting = yield* (yield* Effect.service(Greeter)).greet("Effect 4");
    const nomyo = yield* Effect.service(NomyoClient);
    const chunks = yield* Stream.runCollect(
      nomyo.stream({ model: "echo", messages: [{ role: "user", content: "streamed" }] }),
    );
    const streamed = Array.from(chunks).map((c) => c.choices[0]?.delta.content ?? "").join("");
    router.inject({ tamper: "tag" });
    const caught = yield* nomyo.create({
      model: "echo",
      messages: [{ role: "user", content: "tampered" }],
    }).pipe(
      Effect.as("no error"),
      Effect.catchTag("SecurityError", (error) => Effect.succeed(`caught ${error.reason}`)),
    );
    return { greeting, streamed, caught };
  });
  const result = await Effect.runPromise(program.pipe(Effect.provide(AppLayer)));
  assert.deepEqual(result, {
    greeting: "Echo: Hi Effect 4",
    streamed: "Echo: streamed",
    caught: "caught DecryptionFailed",
  });
} finally {
  await router.close();
}
console.log(`npm app: ok (Effect 4 app, ${runtime()})`);
