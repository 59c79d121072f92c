/**
 * An app that installed `@nomyo/client` from its npm tarball next to its own `effect@3` and
 * `@effect/platform` (.ci/npm_package.sh). Type-checked with `tsc --strict` against the package's
 * `.d.ts`, then run under Node 20, Node 24 and Bun against the package's own `./testing` router:
 *
 * - an encrypted round trip through `SecureChatCompletion`, asserting the echo answer;
 * - a tampered answer rejected with `SecurityError` (`instanceof`, `_tag`, `reason`);
 * - the app's own Effect layers: a service of the app built on `SecureCompletion` from
 *   `nomyoLayer`, given the app's `FetchHttpClient.layer`, and `Effect.catchTag("SecurityError")`.
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
import {
  type ChatCompletion,
  type CompletionError,
  NomyoError,
  nomyoLayer,
  SecureChatCompletion,
  SecureCompletion,
  SecurityError,
} from "@nomyo/client";
import { startTestRouter, type TestRouter } from "@nomyo/client/testing";

const runtime = (): string => {
  const versions = process.versions as { readonly bun?: string; readonly node?: string };
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

const router = await startTestRouter();
try {
  await promiseApi(router);
  await effectApi(router);
} finally {
  await router.close();
}
console.log(`npm app: ok (${runtime()})`);
