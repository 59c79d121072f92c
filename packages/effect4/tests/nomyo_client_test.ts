/**
 * @nomyo/effect4 from an Effect 4.1 app (this package's `effect` is `^4.1.0`), against the test
 * router of `@nomyo/client/testing`.
 */
import assert from "node:assert/strict";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as Stream from "effect/Stream";
import type { SecureChatCompletion } from "@nomyo/client";
import { startTestRouter, type TestRouter } from "@nomyo/client/testing";
import { fromClient, layer, make, NomyoClient, type NomyoClientError } from "@nomyo/effect4";

const withRouter = (run: (router: TestRouter) => Promise<void>) => async (): Promise<void> => {
  const router = await startTestRouter();
  try {
    await run(router);
  } finally {
    await router.close();
  }
};

const quiet = { allowHttp: true, keySize: 2048 } as const;

Deno.test("the package runs on Effect 4.1", async () => {
  const { default: pkg } = await import("effect/package.json", { with: { type: "json" } });
  assert.match((pkg as { version: string }).version, /^4\.([1-9]|\d{2,})\./);
});

Deno.test(
  "NomyoClient.create() answers through layer() and catchTag('SecurityError') catches a tampered answer",
  withRouter(async (router) => {
    const program = Effect.gen(function* () {
      const nomyo = yield* NomyoClient;
      const answer = yield* nomyo.create({
        model: "echo",
        messages: [{ role: "user", content: "Hello from Effect 4" }],
      });
      router.inject({ tamper: "tag" });
      const caught = yield* nomyo.create({
        model: "echo",
        messages: [{ role: "user", content: "tampered" }],
      }).pipe(
        Effect.as("no error"),
        Effect.catchTag("SecurityError", (error) => Effect.succeed(`caught ${error.reason}`)),
      );
      return {
        text: answer.choices[0]?.message.content,
        encrypted: answer._metadata?.is_encrypted,
        caught,
      };
    });
    const result = await Effect.runPromise(
      program.pipe(Effect.provide(layer({ baseUrl: router.url, ...quiet }))),
    );
    assert.deepEqual(result, {
      text: "Echo: Hello from Effect 4",
      encrypted: true,
      caught: "caught DecryptionFailed",
    });
  }),
);

Deno.test(
  "NomyoClient.stream() is a v4 Stream of chunks whose deltas make the answer",
  withRouter(async (router) => {
    const chunks = await Effect.runPromise(
      Effect.gen(function* () {
        const nomyo = yield* NomyoClient;
        return yield* Stream.runCollect(
          nomyo.stream({ model: "echo", messages: [{ role: "user", content: "streamed" }] }),
        );
      }).pipe(Effect.provide(layer({ baseUrl: router.url, ...quiet }))),
    );
    const text = Array.from(chunks).map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "Echo: streamed");
    assert.equal(Array.from(chunks).at(-1)?.choices[0]?.finish_reason, "stop");
  }),
);

Deno.test(
  "NomyoClient.stream() fails with the typed error of a refused answer",
  withRouter(async (router) => {
    router.inject({ status: 401, detail: "bad key" });
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const nomyo = yield* NomyoClient;
        return yield* Stream.runCollect(
          nomyo.stream({ model: "echo", messages: [{ role: "user", content: "refused" }] }),
        );
      }).pipe(
        Effect.catchTag("AuthenticationError", (error) => Effect.succeed(error.status)),
        Effect.provide(layer({ baseUrl: router.url, ...quiet, maxRetries: 0 })),
      ),
    );
    assert.ok(Exit.isSuccess(exit), String(exit));
    assert.equal(exit.value, 401);
  }),
);

Deno.test(
  "make() disposes the client when its scope closes: a later call fails with DisposedError",
  withRouter(async (router) => {
    const nomyo = await Effect.runPromise(Effect.scoped(make({ baseUrl: router.url, ...quiet })));
    const exit = await Effect.runPromiseExit(
      nomyo.create({ model: "echo", messages: [{ role: "user", content: "after" }] }),
    );
    assert.ok(Exit.isFailure(exit));
    const error = Exit.findErrorOption(exit);
    assert.equal(error._tag, "Some");
    assert.equal((error as { value: { _tag: string } }).value._tag, "DisposedError");
  }),
);

Deno.test("layer() fails with SecurityError for http: without allowHttp", async () => {
  const exit = await Effect.runPromiseExit(
    Effect.provide(Effect.void, layer({ baseUrl: "http://127.0.0.1:1" })),
  );
  assert.ok(Exit.isFailure(exit));
  const reason = await Effect.runPromise(
    Effect.provide(Effect.as(Effect.void, "built"), layer({ baseUrl: "http://127.0.0.1:1" })).pipe(
      Effect.catchTag("SecurityError", (error) => Effect.succeed(error.reason)),
    ),
  );
  assert.equal(reason, "InsecureTransport");
});

Deno.test("interrupting create() aborts the facade's request through its signal", async () => {
  let signalled: AbortSignal | undefined;
  // A stand-in for SecureChatCompletion that records the signal and never answers on its own.
  const fake = {
    create: (_body: unknown, options: { signal?: AbortSignal }) =>
      new Promise((_, reject) => {
        signalled = options.signal;
        options.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      }),
  } as unknown as SecureChatCompletion;
  const exit = await Effect.runPromiseExit(
    fromClient(fake).create({ model: "echo", messages: [{ role: "user", content: "slow" }] })
      .pipe(Effect.timeout("50 millis")),
  );
  assert.ok(Exit.isFailure(exit));
  assert.ok(signalled !== undefined, "create() got no signal");
  assert.equal(signalled.aborted, true);
});

Deno.test(
  "layer() composes into the app's own Effect 4 layers",
  withRouter(async (router) => {
    interface Greeter {
      readonly greet: (name: string) => Effect.Effect<string, NomyoClientError>;
    }
    const Greeter = Context.Service<Greeter>("app/Greeter");
    const GreeterLive = Layer.effect(
      Greeter,
      Effect.map(Effect.service(NomyoClient), (nomyo): Greeter => ({
        greet: (name) =>
          nomyo.create({ model: "echo", messages: [{ role: "user", content: `Hi ${name}` }] }).pipe(
            Effect.map((answer) => answer.choices[0]?.message.content ?? ""),
          ),
      })),
    );
    const AppLayer = GreeterLive.pipe(Layer.provide(layer({ baseUrl: router.url, ...quiet })));
    const greeting = await Effect.runPromise(
      Effect.flatMap(Effect.service(Greeter), (greeter) => greeter.greet("v4")).pipe(
        Effect.provide(AppLayer),
      ),
    );
    assert.equal(greeting, "Echo: Hi v4");
  }),
);
