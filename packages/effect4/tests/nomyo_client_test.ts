/**
 * @nomyo/effect4 from an Effect 4.1 app (this package's `effect` is `^4.1.0`), against the test
 * router of `@nomyo/client/testing`.
 */
import assert from "node:assert/strict";
import * as Cause from "effect/Cause";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as Layer from "effect/Layer";
import * as Stream from "effect/Stream";
import {
  type ChatCompletionCreateParamsNonStreaming,
  type ClientOptions,
  NomyoError,
  SecureChatCompletion,
  SecurityError,
} from "@nomyo/client";
import { startTestRouter, type TestRouter } from "@nomyo/client/testing";
import {
  fromClient,
  layer,
  make,
  NomyoClient,
  type NomyoClientBuildError,
  type NomyoClientError,
  type StreamRequest,
} from "@nomyo/effect4";

const withRouter = (run: (router: TestRouter) => Promise<void>) => async (): Promise<void> => {
  const router = await startTestRouter();
  try {
    await run(router);
  } finally {
    await router.close();
  }
};

const quiet = { allowHttp: true, keySize: 2048 } as const;

/** A one-message request to the echo model. */
const ask = (content: string) => ({
  model: "echo",
  messages: [{ role: "user" as const, content }],
});

/** How many completions (POSTs) reached `router`. */
const posts = (router: TestRouter): number =>
  router.requests.filter((r) => r.method === "POST").length;

/** The defect of `exit`, which must have died (no typed failure). */
const defect = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  assert.ok(Exit.isFailure(exit), "expected a failure");
  assert.ok(Cause.hasDies(exit.cause) && !Cause.hasFails(exit.cause), Cause.pretty(exit.cause));
  return Cause.squash(exit.cause);
};

/** Runs `effect` with `layer()` on `router` (no retries). */
const runOn = <A, E>(
  router: TestRouter,
  effect: Effect.Effect<A, E, NomyoClient>,
  extra: ClientOptions = {},
): Promise<Exit.Exit<A, E | NomyoClientBuildError>> =>
  Effect.runPromiseExit(
    effect.pipe(Effect.provide(layer({ baseUrl: router.url, ...quiet, maxRetries: 0, ...extra }))),
  );

/**
 * A `fetch` that records the first completion's signal, and when that fetch settled (aborted,
 * or answered once the router's delay is over).
 */
const recordingFetch = () => {
  let sent!: (sent: { signal: AbortSignal; settled: Promise<void> }) => void;
  const first = new Promise<{ signal: AbortSignal; settled: Promise<void> }>((resolve) =>
    sent = resolve
  );
  const recording: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    const response = fetch(request);
    if (request.method === "POST") {
      sent({ signal: request.signal, settled: response.then(() => undefined, () => undefined) });
    }
    return response;
  };
  return { fetch: recording, first };
};

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
  let called: () => void = () => {};
  const calledOnce = new Promise<void>((resolve) => (called = resolve));
  // A stand-in for SecureChatCompletion that records the signal and never answers on its own.
  const fake = {
    create: (_body: unknown, options: { signal?: AbortSignal }) =>
      new Promise((_, reject) => {
        signalled = options.signal;
        options.signal?.addEventListener("abort", () => reject(new Error("aborted")));
        called();
      }),
  } as unknown as SecureChatCompletion;
  const fiber = Effect.runFork(
    fromClient(fake).create({ model: "echo", messages: [{ role: "user", content: "slow" }] }),
  );
  await calledOnce; // interrupted once the request is under way, no clock involved
  const exit = await Effect.runPromise(
    Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber))),
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

Deno.test(
  "NomyoClient.stream() passes stream_options: include_usage adds a usage chunk",
  withRouter(async (router) => {
    const exit = await runOn(
      router,
      Effect.flatMap(
        Effect.service(NomyoClient),
        (nomyo) =>
          Stream.runCollect(
            nomyo.stream({ ...ask("counted"), stream_options: { include_usage: true } }),
          ),
      ),
    );
    assert.ok(Exit.isSuccess(exit), String(exit));
    const chunks = Array.from(exit.value);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "Echo: counted");
    const usage = chunks.at(-1)?.usage;
    assert.ok(usage !== undefined && usage !== null, "no usage chunk last");
    assert.equal(typeof usage.total_tokens, "number");
  }),
);

Deno.test(
  "NomyoClient.create() fails with SecurityError for a bogus tier, and nothing is sent",
  withRouter(async (router) => {
    const bogus = {
      ...ask("x"),
      security_tier: "bogus",
    } as unknown as ChatCompletionCreateParamsNonStreaming;
    const exit = await runOn(
      router,
      Effect.flatMap(Effect.service(NomyoClient), (nomyo) => nomyo.create(bogus)).pipe(
        Effect.as("sent"),
        Effect.catchTag("SecurityError", (error) => Effect.succeed(`caught ${error.reason}`)),
      ),
    );
    assert.ok(Exit.isSuccess(exit), String(exit));
    assert.equal(exit.value, "caught InvalidSecurityTier");
    assert.equal(posts(router), 0, "a request went out");
  }),
);

Deno.test(
  "NomyoClient errors keep their class and tag: a 429 is a RateLimitError with retryAfter",
  withRouter(async (router) => {
    router.inject({ status: 429, retryAfter: "1" });
    const exit = await runOn(
      router,
      Effect.flatMap(Effect.service(NomyoClient), (nomyo) => nomyo.create(ask("busy"))).pipe(
        Effect.as("sent"),
        Effect.catchTag(
          "RateLimitError",
          (error) => Effect.succeed(`retry after ${error.retryAfter}`),
        ),
      ),
    );
    assert.ok(Exit.isSuccess(exit), String(exit));
    assert.equal(exit.value, "retry after 1");
  }),
);

Deno.test(
  "fromClient() leaves the caller's client open when the layer's scope closes",
  withRouter(async (router) => {
    await using client = new SecureChatCompletion({ baseUrl: router.url, ...quiet });
    const answer = await Effect.runPromise(
      Effect.flatMap(Effect.service(NomyoClient), (nomyo) => nomyo.create(ask("borrowed"))).pipe(
        Effect.provide(Layer.succeed(NomyoClient, fromClient(client))),
      ),
    );
    assert.equal(answer.choices[0]?.message.content, "Echo: borrowed");
    const after = await client.create(ask("still open"));
    assert.equal(after.choices[0]?.message.content, "Echo: still open");
  }),
);

// A borrowed client, so no disposal aborts the fetch: only the interruption can.
const interrupted: ReadonlyArray<
  readonly [string, (client: SecureChatCompletion) => Effect.Effect<unknown, unknown>]
> = [
  ["create()", (client) => fromClient(client).create(ask("slow"))],
  ["a running stream()", (client) => Stream.runCollect(fromClient(client).stream(ask("slow")))],
];
for (const [name, call] of interrupted) {
  Deno.test(
    `interrupting ${name} aborts the request's fetch (a borrowed client, so no disposal does it)`,
    withRouter(async (router) => {
      router.inject({ delayMs: 2_000 });
      const recording = recordingFetch();
      await using client = new SecureChatCompletion({
        baseUrl: router.url,
        ...quiet,
        maxRetries: 0,
        fetch: recording.fetch,
      });
      const fiber = Effect.runFork(call(client));
      const { signal, settled } = await recording.first;
      const exit = await Effect.runPromise(
        Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber))),
      );
      assert.ok(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause), String(exit));
      await settled;
      assert.equal(signal.aborted, true, "the fetch was answered, not aborted");
    }),
  );
}

Deno.test(
  "NomyoClient.stream() with stream: false is a TypeError defect, and nothing is sent",
  withRouter(async (router) => {
    const exit = await runOn(
      router,
      Effect.flatMap(Effect.service(NomyoClient), (nomyo) =>
        Stream.runCollect(
          nomyo.stream({ ...ask("x"), stream: false } as unknown as StreamRequest),
        )),
    );
    assert.ok(defect(exit) instanceof TypeError);
    assert.equal(posts(router), 0, "a request went out");
  }),
);

Deno.test(
  "caller mistakes are defects with a TypeError, and nothing is sent",
  withRouter(async (router) => {
    const streamInCreate = await runOn(
      router,
      Effect.flatMap(
        Effect.service(NomyoClient),
        (nomyo) =>
          nomyo.create(
            { ...ask("x"), stream: true } as unknown as ChatCompletionCreateParamsNonStreaming,
          ),
      ),
    );
    assert.ok(defect(streamInCreate) instanceof TypeError);
    const notAnObject = await runOn(
      router,
      Effect.flatMap(
        Effect.service(NomyoClient),
        (nomyo) => nomyo.create(null as unknown as ChatCompletionCreateParamsNonStreaming),
      ),
    );
    assert.ok(defect(notAnObject) instanceof TypeError);
    const unknownOption = await runOn(
      router,
      Effect.flatMap(
        Effect.service(NomyoClient),
        (nomyo) => nomyo.create(ask("x"), { timeoutMs: 5 } as unknown as { timeout: number }),
      ),
    );
    const error = defect(unknownOption);
    assert.ok(error instanceof TypeError && /timeoutMs/.test(error.message), String(error));
    const badLayer = await runOn(
      router,
      Effect.flatMap(Effect.service(NomyoClient), (nomyo) => nomyo.create(ask("x"))),
      { nope: 1 } as ClientOptions,
    );
    assert.ok(defect(badLayer) instanceof TypeError);
    assert.equal(posts(router), 0, "a request went out");
  }),
);

Deno.test(
  "the error channel holds the client's error classes only: the facade's bare NomyoError dies",
  async () => {
    /** A stand-in for SecureChatCompletion whose create() rejects with `error`. */
    const rejecting = (error: unknown) =>
      fromClient({ create: () => Promise.reject(error) } as unknown as SecureChatCompletion);
    const security = new SecurityError({ reason: "DecryptionFailed", message: "tampered" });
    const typed = await Effect.runPromiseExit(rejecting(security).create(ask("x")));
    assert.ok(Exit.isFailure(typed));
    assert.equal(Exit.findErrorOption(typed)._tag, "Some");
    assert.equal(Cause.squash(typed.cause), security);
    const unexpected = new NomyoError({ message: "Unexpected failure inside @nomyo/client" });
    assert.equal(
      defect(await Effect.runPromiseExit(rejecting(unexpected).create(ask("x")))),
      unexpected,
    );
    const streamed = await Effect.runPromiseExit(
      Stream.runCollect(rejecting(unexpected).stream(ask("x"))),
    );
    assert.equal(defect(streamed), unexpected);
    const misuse = new TypeError("misuse");
    assert.equal(defect(await Effect.runPromiseExit(rejecting(misuse).create(ask("x")))), misuse);
  },
);

Deno.test(
  "a polluted Object.prototype.stream changes nothing: create() answers, stream() streams",
  withRouter(async (router) => {
    const proto = Object.prototype as { stream?: unknown };
    proto.stream = true;
    try {
      const exit = await runOn(
        router,
        Effect.gen(function* () {
          const nomyo = yield* Effect.service(NomyoClient);
          const answer = yield* nomyo.create(ask("polluted"));
          const chunks = yield* Stream.runCollect(nomyo.stream(ask("polluted")));
          return [answer.choices[0]?.message.content, chunks.length > 0] as const;
        }),
      );
      assert.ok(Exit.isSuccess(exit), String(exit));
      assert.deepEqual(exit.value, ["Echo: polluted", true]);
    } finally {
      delete proto.stream;
    }
  }),
);
