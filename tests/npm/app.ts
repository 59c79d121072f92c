/**
 * An app that installed `@nomyo/client` from its npm tarball next to its own `effect@3` and
 * `@effect/platform` (.ci/npm_package.sh). Type-checked with `tsc --strict` against the package's
 * `.d.ts`, then run under Node 20, Node 24 and Bun against the package's own `./testing` router:
 *
 * - an encrypted round trip through `SecureChatCompletion`, asserting the echo answer;
 * - a tampered answer rejected with `SecurityError` (`instanceof`, `_tag`, `reason`);
 * - the app's own Effect layers: a service of the app built on `SecureCompletion` from
 *   `nomyoLayer`, given the app's `FetchHttpClient.layer`, and `Effect.catchTag("SecurityError")`;
 * - `./effect-ai`: `LanguageModel.generateText` of the app's `@effect/ai` over the client;
 * - `./proxy`: the local encrypting proxy (node:http) answering a plain OpenAI request.
 *
 * Prints `npm app: ok (<runtime>)` when every check passed; any failure throws (exit code 1).
 * Deno type-checks it too, resolving `@nomyo/client` to this repository's sources.
 */
import assert from "node:assert/strict";
import process from "node:process";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import * as LanguageModel from "@effect/ai/LanguageModel";
import {
  type ChatCompletion,
  type CompletionError,
  NomyoError,
  nomyoLayer,
  nomyoLayerFetch,
  SecureChatCompletion,
  SecureCompletion,
  SecurityError,
} from "@nomyo/client";
import * as NomyoLanguageModel from "@nomyo/client/effect-ai";
import { serveProxy } from "@nomyo/client/proxy";
import { startTestRouter, type TestRouter } from "@nomyo/client/testing";

const runtime = (): string => {
  const versions = process.versions as { readonly bun?: string; readonly deno?: string };
  if (versions.deno !== undefined) return `Deno ${versions.deno}`;
  return versions.bun !== undefined ? `Bun ${versions.bun}` : `Node ${process.version}`;
};

/** A service of the app, written against the client's Effect service. */
interface Greeter {
  readonly greet: (name: string) => Effect.Effect<string, CompletionError>;
}
const Greeter: Context.Tag<Greeter, Greeter> = Context.GenericTag<Greeter>("app/Greeter");

const GreeterLive: Layer.Layer<Greeter, never, SecureCompletion> = Layer.effect(
  Greeter,
  Effect.map(SecureCompletion, (completion): Greeter => ({
    greet: (name) =>
      completion.create({ model: "echo", messages: [{ role: "user", content: `Hi ${name}` }] })
        .pipe(Effect.map((answer) => answer.choices[0]?.message.content ?? "")),
  })),
);

const promiseApi = async (router: TestRouter): Promise<void> => {
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
  try {
    const answer: ChatCompletion = await client.create({
      model: "echo",
      messages: [{ role: "user", content: "Hello from the npm package 🔐" }],
    });
    assert.equal(answer.choices[0]?.message.content, "Echo: Hello from the npm package 🔐");
    assert.equal(answer._metadata?.is_encrypted, true);

    router.inject({ tamper: "tag" });
    await assert.rejects(
      client.create({ model: "echo", messages: [{ role: "user", content: "tampered" }] }),
      (error: unknown) => {
        assert.ok(error instanceof SecurityError, `not a SecurityError: ${String(error)}`);
        assert.ok(error instanceof NomyoError);
        assert.equal(error._tag, "SecurityError");
        assert.equal(error.reason, "DecryptionFailed");
        return true;
      },
    );
  } finally {
    await client.dispose();
  }
};

const effectApi = async (router: TestRouter): Promise<void> => {
  // The app's layers: its Greeter over the client's services over the app's own HttpClient.
  const AppLayer = GreeterLive.pipe(
    Layer.provide(nomyoLayer({ baseUrl: router.url, allowHttp: true })),
    Layer.provide(FetchHttpClient.layer),
  );
  const program = Effect.gen(function* () {
    const greeter = yield* Greeter;
    const greeting = yield* greeter.greet("Effect");
    router.inject({ tamper: "tag" });
    const caught = yield* greeter.greet("tampered").pipe(
      Effect.as("no error"),
      Effect.catchTag("SecurityError", (error) => Effect.succeed(`caught ${error.reason}`)),
    );
    return { greeting, caught };
  });
  const { greeting, caught } = await Effect.runPromise(program.pipe(Effect.provide(AppLayer)));
  assert.equal(greeting, "Echo: Hi Effect");
  assert.equal(caught, "caught DecryptionFailed");
};

const effectAi = async (router: TestRouter): Promise<void> => {
  const live = NomyoLanguageModel.layer({ model: "echo" }).pipe(
    Layer.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true })),
  );
  const response = await Effect.runPromise(
    LanguageModel.generateText({ prompt: "Hello, Effect AI" }).pipe(Effect.provide(live)),
  );
  assert.equal(response.text, "Echo: Hello, Effect AI");
};

const proxy = async (router: TestRouter): Promise<void> => {
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
  const running = await serveProxy({ handler: client.fetch });
  try {
    const response = await fetch(`${running.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "via proxy" }] }),
    });
    assert.equal(response.status, 200);
    const body = await response.json() as { choices?: Array<{ message?: { content?: string } }> };
    assert.equal(body.choices?.[0]?.message?.content, "Echo: via proxy");
  } finally {
    await running.close();
    await client.dispose();
  }
};

const router = await startTestRouter();
try {
  await promiseApi(router);
  await effectApi(router);
  await effectAi(router);
  await proxy(router);
} finally {
  await router.close();
}
console.log(`npm app: ok (${runtime()})`);
