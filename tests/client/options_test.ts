/**
 * The client's options: closed (unknown keys refused with a suggestion), aliases of `baseUrl`,
 * a clear `TypeError` for every wrong type, refused options failing layers in the error channel,
 * and the `Config`-based layer.
 *
 * No test here sends anything to another address than 127.0.0.1: clients that could reach the
 * default router get a `fetch` that records the URL and refuses it.
 */
import assert from "node:assert/strict";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import {
  Cause,
  Config,
  ConfigError,
  ConfigProvider,
  Effect,
  Exit,
  Layer,
  Option,
  Redacted,
  Schedule,
  Tracer,
} from "effect";
import { nomyoLayer, nomyoLayerConfig, nomyoLayerFetch } from "../../src/client/layer.ts";
import { type ClientOptions, resolveOptions } from "../../src/client/options.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { AuthenticationError, SecurityError } from "../../src/errors.ts";
import { DEFAULT_BASE_URL } from "../../src/protocol/headers.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";
import { captureConsole } from "../_helpers.ts";

const ask = (content: string) => ({ model: "m", messages: [{ role: "user", content }] });
const FAST = { keySize: 2048, maxRetries: 0, keyRotationInterval: 0 } as const;

/** A `fetch` that serves 127.0.0.1 and refuses (and records) every other address. */
const loopbackOnly = (seen: string[] = []): typeof fetch => (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  seen.push(url);
  if (new URL(url).hostname !== "127.0.0.1") {
    return Promise.reject(new TypeError("test fetch: only 127.0.0.1 may be reached"));
  }
  return fetch(input, init);
};

/** `new` both Promise classes with `options` as a plain-JavaScript caller would. */
const construct = (options: unknown): Array<() => unknown> => [
  () => new SecureChatCompletion(options as ClientOptions),
  () => new SecureCompletionClient(options as ClientOptions),
];

/** Captures `console.warn` while `body` runs. */
const captureWarnings = (body: () => Promise<void>): Promise<string[]> =>
  captureConsole(["warn"], body);

const withRouter = async (
  body: (router: TestRouter) => void | Promise<void>,
  options: Parameters<typeof startTestRouter>[0] = {},
) => {
  const router = await startTestRouter(options);
  try {
    await body(router);
  } finally {
    await router.close();
  }
};

// ---------------------------------------------------------------------------------------------
// Aliases

for (const alias of ["baseURL", "base_url", "routerUrl"] as const) {
  Deno.test(`resolveOptions() takes ${alias} as an alias of baseUrl`, () => {
    const resolved = resolveOptions({ [alias]: "https://router.example/" });
    assert.equal(resolved.baseUrl, "https://router.example");
  });

  Deno.test(`SecureChatCompletion and SecureCompletionClient send to ${alias}, never to the default router`, async () => {
    await withRouter(async (router) => {
      const seen: string[] = [];
      const options = {
        [alias]: router.url,
        allowHttp: true,
        fetch: loopbackOnly(seen),
        ...FAST,
      } as unknown as ClientOptions;
      await captureWarnings(async () => {
        await using chat = new SecureChatCompletion(options);
        const answer = await chat.create(ask("via alias"));
        assert.equal(answer.choices[0]?.message.content, "Echo: via alias");
        await using lower = new SecureCompletionClient(options);
        assert.equal(await lower.fetchServerPublicKey(), router.publicKeyPem);
      });
      assert.ok(seen.length > 0);
      assert.ok(seen.every((u) => u.startsWith(router.url)), `reached only ${router.url}`);
    });
  });
}

Deno.test("resolveOptions() accepts an alias that repeats baseUrl, and refuses two different URLs", () => {
  assert.equal(
    resolveOptions({ baseUrl: "https://a.example", baseURL: "https://a.example" }).baseUrl,
    "https://a.example",
  );
  for (const make of construct({ baseUrl: "https://a.example", routerUrl: "https://b.example" })) {
    assert.throws(make, (e) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot create client: baseUrl and routerUrl are aliases but give different URLs");
  }
  assert.throws(
    () => resolveOptions({ base_url: "https://a.example", baseURL: "https://b.example" }),
    /baseURL and base_url are aliases/,
  );
});

Deno.test("an alias with http:// is refused like baseUrl (SecurityError), and allowed with allowHttp", () => {
  for (const alias of ["baseUrl", "baseURL", "base_url", "routerUrl"]) {
    for (const make of construct({ [alias]: "http://127.0.0.1:1" })) {
      assert.throws(make, (e) => e instanceof SecurityError && e.reason === "InsecureTransport");
    }
    const allowed = resolveOptions({ [alias]: "http://127.0.0.1:1/", allowHttp: true });
    assert.equal(allowed.baseUrl, "http://127.0.0.1:1");
  }
});

// ---------------------------------------------------------------------------------------------
// Unknown keys

const SUGGESTIONS: ReadonlyArray<[string, string]> = [
  ["apikey", "apiKey"],
  ["api_key", "apiKey"],
  ["APIKEY", "apiKey"],
  ["apiKye", "apiKey"],
  ["token", "apiKey"],
  ["allow_http", "allowHttp"],
  ["allowHTTP", "allowHttp"],
  ["secure_memory", "secureMemory"],
  ["timeout_ms", "timeout"],
  ["timeoutMs", "timeout"],
  ["timout", "timeout"],
  ["debgu", "debug"],
  ["log_level", "logLevel"],
  ["loglevel", "logLevel"],
  ["loger", "logger"],
  ["tracr", "tracer"],
  ["key_dir", "keyDir"],
  ["password", "keyPassword"],
  ["key_password", "keyPassword"],
  ["key_rotation_interval", "keyRotationInterval"],
  ["keyRotationIntervall", "keyRotationInterval"],
  ["key_rotation_schedule", "keyRotationSchedule"],
  ["key_rotation_dir", "keyRotationDir"],
  ["key_rotation_password", "keyRotationPassword"],
  ["max_retries", "maxRetries"],
  ["maxRetry", "maxRetries"],
  ["retries", "maxRetries"],
  ["key_size", "keySize"],
  ["keysize", "keySize"],
  ["server_key_fingerprint", "serverKeyFingerprint"],
  ["fingerprint", "serverKeyFingerprint"],
  ["security_tier", "securityTier"],
  ["attestaton", "attestation"],
  ["pcr_baseline", "pcrBaseline"],
  ["max_retry_after", "maxRetryAfter"],
  ["maxRetryafter", "maxRetryAfter"],
  ["max_response_bytes", "maxResponseBytes"],
  ["Fetch", "fetch"],
  ["router_url", "baseUrl"],
  ["baseurl", "baseUrl"],
  ["BASE_URL", "baseUrl"],
  ["url", "baseUrl"],
];

Deno.test("an unknown option is a TypeError that names it and suggests the right one", () => {
  for (const [typo, meant] of SUGGESTIONS) {
    const expected = `Cannot create client: unknown option "${typo}" (did you mean "${meant}"?)`;
    assert.throws(() => resolveOptions({ [typo]: "x" } as never), { message: expected }, typo);
    for (const make of construct({ [typo]: "x" })) {
      assert.throws(make, (e) => e instanceof TypeError && e.message === expected, typo);
    }
  }
});

Deno.test("an unknown option with nothing close lists the options; OpenAI-only options say so", () => {
  assert.throws(
    () => resolveOptions({ zzqqxx: 1 } as never),
    (e) =>
      e instanceof TypeError && /^Cannot create client: unknown option "zzqqxx" \(the options/.test(
        e.message,
      ) && e.message.includes("baseUrl, allowHttp, apiKey") && !e.message.includes("baseURL"),
  );
  assert.throws(() => resolveOptions({ organization: "org" } as never), /OpenAI SDK option/);
  assert.throws(() => resolveOptions({ dangerouslyAllowBrowser: true } as never), /browsers/);
  assert.throws(() => resolveOptions({ model: "m" } as never), /create\(\)/);
});

Deno.test("every unknown option is named in one TypeError, before any type check", () => {
  assert.throws(
    () => resolveOptions({ apikey: "k", timout: 5, timeout: "wrong" } as never),
    {
      message: 'Cannot create client: unknown option "apikey" (did you mean "apiKey"?); ' +
        'unknown option "timout" (did you mean "timeout"?)',
    },
  );
});

Deno.test("an unknown symbol key, or a key with control characters, is shown safely", () => {
  assert.throws(
    () => resolveOptions({ [Symbol("s")]: 1 } as never),
    /unknown option "Symbol\(s\)"/,
  );
  assert.throws(
    () => resolveOptions({ "a\nb": 1 } as never),
    (e) => e instanceof TypeError && e.message.includes('"a\\nb"') && !e.message.includes("\n"),
  );
});

Deno.test("hostile option objects: a huge key, thousands of keys, a getter (never run)", () => {
  assert.throws(
    () => resolveOptions({ ["k".repeat(1_000_000)]: 1 } as never),
    (e) => e instanceof TypeError && e.message.length < 1_000,
  );
  const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`extra${i}`, i]));
  assert.throws(
    () => resolveOptions(many as never),
    (e) =>
      e instanceof TypeError && e.message.includes("9995 more unknown options") &&
      e.message.length < 1_000,
  );
  let ran = false;
  const throwing = Object.defineProperty({}, "apiKey", {
    enumerable: true,
    get: () => {
      ran = true;
      throw new Error("getter");
    },
  });
  // Only own data properties are read: the getter is refused by name, and never run.
  assert.throws(() => resolveOptions(throwing), {
    name: "TypeError",
    message: "Cannot create client: option apiKey is a getter, not a data property; " +
      "pass a plain object",
  });
  assert.equal(ran, false);
});

Deno.test("a typo such as apikey no longer drops authentication silently", async () => {
  await withRouter((router) => {
    assert.throws(
      () =>
        new SecureChatCompletion({
          baseUrl: router.url,
          allowHttp: true,
          apikey: "router-key",
        } as unknown as ClientOptions),
      TypeError,
    );
    assert.equal(router.requests.length, 0);
  }, { apiKey: "router-key" });
});

// ---------------------------------------------------------------------------------------------
// Wrong types, for every option

const WRONG: Readonly<Record<keyof ClientOptions, ReadonlyArray<unknown>>> = {
  baseUrl: [42, "", {}, true],
  baseURL: [42, ""],
  base_url: [42, ""],
  routerUrl: [42, ""],
  allowHttp: ["true", 1, null],
  apiKey: [42, "", {}, Redacted.make(42)],
  secureMemory: ["false", 0],
  timeout: [-1, 0, NaN, Infinity, "1000"],
  debug: ["true", 1],
  keyDir: ["", 7],
  keyPassword: ["", 7],
  keyRotationInterval: [-1, NaN, "60000"],
  keyRotationSchedule: [{}, 1000, () => 1],
  keyRotationDir: ["", 7],
  keyRotationPassword: ["", 7],
  maxRetries: [-1, 1.5, "2", NaN],
  keySize: [3072, "4096", 1024],
  serverKeyFingerprint: ["ab".repeat(31), "ab".repeat(33), "zz".repeat(32), 42, ""],
  securityTier: [42, {}],
  attestation: ["on", true],
  pcrBaseline: [{}, { x: "ab".repeat(32) }, { "7": "zz" }, { "7": 7 }, "7", []],
  maxRetryAfter: [-5, "1"],
  maxResponseBytes: [0, 1.5, -1, "1"],
  fetch: ["fetch", {}],
  routerKeyPolicy: ["on", "TOFU", true],
  knownRoutersPath: ["", 7],
  onRouterKeyChange: [true, "yes", {}],
  logger: [{}, console.warn, { error() {}, warn() {}, info() {} }, "console"],
  logLevel: ["verbose", "DEBUG", 3, true],
  tracer: [{}, () => undefined, "otel", { startSpan() {} }],
};

Deno.test("every option of the wrong type or range is a TypeError naming it and what it must be", () => {
  for (const [key, values] of Object.entries(WRONG)) {
    for (const value of values) {
      const what = `${key}: ${Deno.inspect(value)}`;
      const check = (e: unknown) => {
        assert.ok(e instanceof TypeError, what);
        assert.match(e.message, new RegExp(`^Cannot create client: ${key} must be `), what);
        return true;
      };
      assert.throws(() => resolveOptions({ [key]: value } as never), check);
      for (const make of construct({ [key]: value })) assert.throws(make, check);
    }
  }
});

Deno.test("a wrong value never appears in the message", () => {
  const secret = "sk-VALUE-MUST-NOT-SHOW-1234";
  for (const key of ["timeout", "allowHttp", "keySize", "serverKeyFingerprint", "fetch"]) {
    assert.throws(
      () => resolveOptions({ [key]: secret } as never),
      (e) => e instanceof TypeError && !e.message.includes(secret),
    );
  }
});

Deno.test("options that are not an object are a TypeError", () => {
  for (const options of ["https://api.nomyo.ai", null, [], 42, true]) {
    for (const make of construct(options)) {
      assert.throws(make, {
        name: "TypeError",
        message: "Cannot create client: options must be an object",
      });
    }
  }
});

Deno.test("an unknown security tier is a SecurityError at construction", () => {
  for (const make of construct({ securityTier: "ultra" })) {
    assert.throws(make, (e) => e instanceof SecurityError && e.reason === "InvalidSecurityTier");
  }
});

Deno.test("a malformed serverKeyFingerprint is refused at construction, a well-formed one in any case and with colons is kept", () => {
  for (const make of construct({ serverKeyFingerprint: "not-a-fingerprint" })) {
    assert.throws(make, /serverKeyFingerprint must be a SHA-256 fingerprint/);
  }
  const colons = Array.from({ length: 32 }, () => "AB").join(":");
  assert.equal(resolveOptions({ serverKeyFingerprint: colons }).serverKeyFingerprint, colons);
});

Deno.test("resolveOptions() applies every default, and undefined is the same as leaving an option out", () => {
  const previous = Deno.env.get("NOMYO_API_KEY");
  Deno.env.delete("NOMYO_API_KEY");
  try {
    const defaults = resolveOptions({});
    const undefinedEverywhere = resolveOptions(
      Object.fromEntries(Object.keys(WRONG).map((k) => [k, undefined])) as ClientOptions,
    );
    for (const resolved of [defaults, undefinedEverywhere]) {
      assert.deepEqual(resolved, {
        baseUrl: DEFAULT_BASE_URL,
        allowHttp: false,
        apiKey: undefined,
        secureMemory: true,
        timeout: 60_000,
        logLevel: "warn",
        logger: undefined,
        tracer: undefined,
        keyDir: undefined,
        keyPassword: undefined,
        keyRotationInterval: 24 * 60 * 60 * 1000,
        keyRotationSchedule: undefined,
        keyRotationDir: undefined,
        keyRotationPassword: undefined,
        maxRetries: 2,
        keySize: 4096,
        serverKeyFingerprint: undefined,
        securityTier: undefined,
        attestation: "off",
        pcrBaseline: undefined,
        maxRetryAfter: 60_000,
        maxResponseBytes: 64 * 1024 * 1024,
        fetch: undefined,
        routerKeyPolicy: "off",
        knownRoutersPath: undefined,
        onRouterKeyChange: undefined,
      });
    }
    const derived = resolveOptions({ keyDir: "k", keyPassword: "password1" });
    assert.equal(derived.keyRotationDir, "k");
    assert.equal(derived.keyRotationPassword, "password1");
  } finally {
    if (previous !== undefined) Deno.env.set("NOMYO_API_KEY", previous);
  }
});

Deno.test("resolveOptions() accepts every option with a right value", () => {
  const schedule = Schedule.spaced("1 hour");
  const resolved = resolveOptions({
    baseUrl: "https://r.example",
    allowHttp: false,
    apiKey: Redacted.make("k"),
    secureMemory: false,
    timeout: 1,
    debug: true,
    keyDir: "d",
    keyPassword: "p",
    keyRotationInterval: 0,
    keyRotationSchedule: schedule,
    keyRotationDir: "r",
    keyRotationPassword: "q",
    maxRetries: 0,
    keySize: 2048,
    serverKeyFingerprint: "ab".repeat(32),
    securityTier: "maximum",
    attestation: "require",
    pcrBaseline: { "0": "AB".repeat(32), "23": "cd".repeat(32) },
    maxRetryAfter: 0,
    maxResponseBytes: 1,
    fetch: loopbackOnly(),
    routerKeyPolicy: "tofu",
    knownRoutersPath: "known.json",
    onRouterKeyChange: () => true,
    logger: console,
    logLevel: "debug",
    tracer: Tracer.make({ span: () => undefined as never, context: (f) => f() }),
  });
  assert.equal(Redacted.value(resolved.apiKey!), "k");
  assert.equal(resolved.routerKeyPolicy, "tofu");
  assert.equal(resolved.logLevel, "debug");
  assert.equal(resolved.logger, console);
  assert.equal(resolved.keyRotationSchedule, schedule);
  assert.equal(resolved.securityTier, "maximum");
  assert.equal(typeof resolved.fetch, "function");
});

Deno.test("the API key still comes from NOMYO_API_KEY when apiKey is left out or undefined", () => {
  const previous = Deno.env.get("NOMYO_API_KEY");
  Deno.env.set("NOMYO_API_KEY", "from-env");
  try {
    for (const options of [{}, { apiKey: undefined }]) {
      assert.equal(Redacted.value(resolveOptions(options).apiKey!), "from-env");
    }
    assert.equal(Redacted.value(resolveOptions({ apiKey: "given" }).apiKey!), "given");
    assert.equal(resolveOptions({}, { environment: false }).apiKey, undefined);
  } finally {
    if (previous === undefined) Deno.env.delete("NOMYO_API_KEY");
    else Deno.env.set("NOMYO_API_KEY", previous);
  }
});

Deno.test("a Redacted apiKey is sent as the bearer token", async () => {
  await withRouter(async (router) => {
    await using client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: Redacted.make("router-key"),
      ...FAST,
    });
    await captureWarnings(async () => {
      const answer = await client.create(ask("redacted"));
      assert.equal(answer.choices[0]?.message.content, "Echo: redacted");
    });
  }, { apiKey: "router-key" });
});

// ---------------------------------------------------------------------------------------------
// Layers: refused options fail the layer, they never throw

/** Builds `layer` (on a loopback-only fetch) and returns how that ended. */
const buildExit = <A, E>(layer: Layer.Layer<A, E, never>) =>
  Effect.runPromise(Effect.exit(Effect.scoped(Layer.build(layer))));

const onLoopbackFetch = FetchHttpClient.layer.pipe(
  Layer.provide(Layer.succeed(FetchHttpClient.Fetch, loopbackOnly())),
);

Deno.test("nomyoLayer() with an http:// base URL does not throw; the layer fails with SecurityError", async () => {
  const layer = nomyoLayer({ baseUrl: "http://127.0.0.1:1", ...FAST });
  const exit = await buildExit(layer.pipe(Layer.provide(onLoopbackFetch)));
  assert.ok(Exit.isFailure(exit));
  const failure = Cause.failureOption(exit.cause);
  assert.ok(Option.isSome(failure) && failure.value instanceof SecurityError);
  assert.equal(failure.value.reason, "InsecureTransport");

  const caught = await Effect.runPromise(
    Effect.scoped(Layer.build(nomyoLayerFetch({ baseURL: "http://127.0.0.1:1", ...FAST }))).pipe(
      Effect.as("built"),
      Effect.catchTag("SecurityError", (e) => Effect.succeed(`caught ${e.reason}`)),
    ),
  );
  assert.equal(caught, "caught InsecureTransport");
});

Deno.test("nomyoLayer() with an unknown option or a wrong type dies with the TypeError", async () => {
  for (
    const options of [{ apikey: "k" }, { timeout: "1" }, { serverKeyFingerprint: "zz" }, null]
  ) {
    const exits = [
      await buildExit(nomyoLayer(options as never).pipe(Layer.provide(onLoopbackFetch))),
      await buildExit(nomyoLayerFetch(options as never)),
      await buildExit(nomyoLayerConfig(options as never).pipe(Layer.provide(onLoopbackFetch))),
    ];
    for (const exit of exits) {
      assert.ok(Exit.isFailure(exit));
      const defect = Cause.dieOption(exit.cause);
      assert.ok(Option.isSome(defect) && defect.value instanceof TypeError, Deno.inspect(options));
      assert.match((defect.value as TypeError).message, /^Cannot create client: /);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The Config layer

const fromMap = (entries: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))));

/** Runs one completion through `layer`, with the config provider `config`. */
const completeThrough = <E>(
  layer: Layer.Layer<SecureCompletion, E, never>,
  config: Layer.Layer<never>,
) =>
  Effect.runPromiseExit(
    Effect.flatMap(SecureCompletion, (s) => s.create(ask("configured"))).pipe(
      Effect.map((a) => a.choices[0]?.message.content),
      Effect.provide(layer.pipe(Layer.provide(config))),
      Effect.scoped,
    ),
  );

Deno.test("nomyoLayerConfig() reads NOMYO_BASE_URL and NOMYO_API_KEY from the ConfigProvider", async () => {
  await withRouter(async (router) => {
    const previous = Deno.env.get("NOMYO_API_KEY");
    Deno.env.set("NOMYO_API_KEY", "from-process-env-not-config");
    try {
      // Options given as undefined are left out: the config is read for them.
      const options = { allowHttp: true, baseUrl: undefined, apiKey: undefined, ...FAST };
      const layer = nomyoLayerConfig(options).pipe(
        Layer.provide(onLoopbackFetch),
      );
      await captureWarnings(async () => {
        const ok = await completeThrough(
          layer,
          fromMap({ NOMYO_BASE_URL: router.url, NOMYO_API_KEY: "router-key" }),
        );
        assert.deepEqual(ok, Exit.succeed("Echo: configured"));
        // Without NOMYO_API_KEY in the provider, no key: the process environment is not read.
        const noKey = await completeThrough(layer, fromMap({ NOMYO_BASE_URL: router.url }));
        assert.ok(Exit.isFailure(noKey));
        const failure = Cause.failureOption(noKey.cause);
        assert.ok(Option.isSome(failure) && failure.value instanceof AuthenticationError);
      });
      const completions = router.requests.filter((r) => r.path.endsWith("secure_completion"));
      assert.equal(completions[0]?.headers["authorization"], "Bearer router-key");
      assert.equal(completions[1]?.headers["authorization"], undefined);
    } finally {
      if (previous === undefined) Deno.env.delete("NOMYO_API_KEY");
      else Deno.env.set("NOMYO_API_KEY", previous);
    }
  }, { apiKey: "router-key" });
});

Deno.test("nomyoLayerConfig(): explicit options, plain or as Config, win over NOMYO_*", async () => {
  await withRouter(async (router) => {
    const config = fromMap({
      NOMYO_BASE_URL: "https://elsewhere.example",
      NOMYO_API_KEY: "wrong-key",
      MY_KEY: "router-key",
      MY_URL: router.url,
    });
    await captureWarnings(async () => {
      const plain = nomyoLayerConfig({
        baseURL: router.url,
        apiKey: Config.redacted("MY_KEY"),
        allowHttp: true,
        ...FAST,
      });
      assert.deepEqual(
        await completeThrough(plain.pipe(Layer.provide(onLoopbackFetch)), config),
        Exit.succeed("Echo: configured"),
      );
      const asConfig = nomyoLayerConfig({
        baseUrl: Config.string("MY_URL"),
        apiKey: Redacted.make("router-key"),
        allowHttp: Config.succeed(true),
        keySize: Config.succeed(2048 as const),
        maxRetries: 0,
        keyRotationInterval: 0,
      });
      assert.deepEqual(
        await completeThrough(asConfig.pipe(Layer.provide(onLoopbackFetch)), config),
        Exit.succeed("Echo: configured"),
      );
    });
  }, { apiKey: "router-key" });
});

Deno.test("nomyoLayerConfig(): without NOMYO_BASE_URL the default router; a bad one fails the layer", async () => {
  const seen: string[] = [];
  const guarded = FetchHttpClient.layer.pipe(
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, loopbackOnly(seen))),
  );
  const layer = nomyoLayerConfig(FAST).pipe(Layer.provide(guarded));
  const exit = await completeThrough(layer, fromMap({}));
  assert.ok(Exit.isFailure(exit), "the default router was refused by the test fetch");
  assert.ok(seen.length > 0 && seen.every((u) => u.startsWith(`${DEFAULT_BASE_URL}/`)), seen[0]);

  const insecure = await buildExit(layer.pipe(Layer.provide(fromMap({
    NOMYO_BASE_URL: "http://127.0.0.1:1",
  }))));
  assert.ok(Exit.isFailure(insecure));
  const failure = Cause.failureOption(insecure.cause);
  assert.ok(Option.isSome(failure) && failure.value instanceof SecurityError);

  const empty = await buildExit(layer.pipe(Layer.provide(fromMap({ NOMYO_BASE_URL: "" }))));
  assert.ok(Exit.isFailure(empty));
  const configError = Cause.failureOption(empty.cause);
  assert.ok(
    Option.isSome(configError) && ConfigError.isConfigError(configError.value) &&
      ConfigError.isInvalidData(configError.value),
  );
});

// ---------------------------------------------------------------------------------------------
// Per-request base_url, arrays as requests

Deno.test("a per-request http:// base_url warns once per URL, like the client's own", async () => {
  await withRouter(async (main) => {
    await withRouter(async (other) => {
      const warnings = await captureWarnings(async () => {
        await using client = new SecureChatCompletion({
          baseUrl: main.url,
          allowHttp: true,
          ...FAST,
        });
        for (let i = 0; i < 3; i++) await client.create({ ...ask("x"), base_url: other.url });
        await client.create(ask("y"));
      });
      const about = (url: string) => warnings.filter((w) => w.includes(`plain HTTP to ${url} `));
      assert.equal(about(main.url).length, 1, "the client's base URL: one warning");
      assert.equal(about(other.url).length, 1, "the per-request base_url: one warning");
      assert.equal(other.requests.filter((r) => r.path.endsWith("secure_completion")).length, 3);
    });
  });
});

Deno.test("create([...]) is a TypeError, at every door, and nothing is sent", async () => {
  await withRouter(async (router) => {
    const options = { baseUrl: router.url, allowHttp: true, ...FAST };
    await captureWarnings(async () => {
      await using chat = new SecureChatCompletion(options);
      const array = [ask("in an array")] as never;
      await assert.rejects(chat.create(array), {
        name: "TypeError",
        message: "Cannot send request: the request must be an object",
      });
      await assert.rejects(chat.chat.completions.create(array), TypeError);
      await using lower = new SecureCompletionClient(options);
      await assert.rejects(lower.sendSecureRequest(array, "pid"), TypeError);
      await assert.rejects(lower.encryptPayload(array), TypeError);
      const exit = await Effect.runPromiseExit(
        Effect.flatMap(SecureCompletion, (s) => s.create(array)).pipe(
          Effect.provide(nomyoLayerFetch(options)),
          Effect.scoped,
        ),
      );
      assert.ok(Exit.isFailure(exit));
      const defect = Cause.dieOption(exit.cause);
      assert.ok(Option.isSome(defect) && defect.value instanceof TypeError);
    });
    assert.equal(router.requests.filter((r) => r.path.endsWith("secure_completion")).length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Own data only

Deno.test("resolveOptions() ignores a polluted Object.prototype: it changes no option", () => {
  const polluted: Record<string, unknown> = {
    baseUrl: "https://evil.example",
    baseURL: "https://evil.example",
    base_url: "https://evil.example",
    routerUrl: "https://evil.example",
    apiKey: "sk-polluted",
    keyDir: "/tmp/evil-keys",
    securityTier: "maximum",
    allowHttp: true,
    fetch: () => Promise.reject(new Error("polluted fetch")),
  };
  for (const [key, value] of Object.entries(polluted)) {
    Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
  }
  let resolved;
  try {
    resolved = resolveOptions({ apiKey: "sk-own" }, { environment: false });
  } finally {
    for (const key of Object.keys(polluted)) {
      delete (Object.prototype as Record<string, unknown>)[key];
    }
  }
  assert.equal(resolved.baseUrl, DEFAULT_BASE_URL);
  assert.equal(resolved.keyDir, undefined);
  assert.equal(resolved.securityTier, undefined);
  assert.equal(resolved.allowHttp, false);
  assert.equal(resolved.fetch, undefined);
  // Every option is an own key of the result: no later read reaches Object.prototype.
  for (const key of ["keyDir", "keyPassword", "fetch", "securityTier", "serverKeyFingerprint"]) {
    assert.ok(Object.hasOwn(resolved, key), key);
  }
});

Deno.test("nomyoLayerConfig() refuses inherited options before reading any Config", async () => {
  const exit = await Effect.runPromiseExit(
    Effect.scoped(
      Layer.build(
        nomyoLayerConfig(Object.create({ baseUrl: "https://router.example" })).pipe(
          Layer.provide(FetchHttpClient.layer),
        ),
      ),
    ),
  );
  const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none();
  assert.ok(Option.isSome(defect) && defect.value instanceof TypeError);
  assert.match((defect.value as TypeError).message, /option baseUrl is inherited/);
});

Deno.test("routerKeyPolicy tofu needs a file, and its options are refused without it", () => {
  const cases: ReadonlyArray<readonly [Record<string, unknown>, RegExp]> = [
    [{ routerKeyPolicy: "tofu" }, /routerKeyPolicy "tofu" needs keyDir or knownRoutersPath/],
    [{ knownRoutersPath: "k.json" }, /knownRoutersPath is only used with routerKeyPolicy: "tofu"/],
    [{ routerKeyPolicy: "off", knownRoutersPath: "k.json" }, /knownRoutersPath is only used/],
    [{ onRouterKeyChange: () => true }, /onRouterKeyChange is only used with routerKeyPolicy/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => resolveOptions(options as never),
      (e) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(options),
    );
    for (const make of construct(options)) assert.throws(make, TypeError);
  }
  assert.equal(resolveOptions({ routerKeyPolicy: "tofu", keyDir: "d" }).routerKeyPolicy, "tofu");
  assert.equal(
    resolveOptions({ routerKeyPolicy: "tofu", knownRoutersPath: "k.json" }).knownRoutersPath,
    "k.json",
  );
});

Deno.test("the peers' names for trust on first use suggest the options", () => {
  for (
    const [given, meant] of [["tofu", "routerKeyPolicy"], ["knownHosts", "knownRoutersPath"], [
      "onKeyChange",
      "onRouterKeyChange",
    ]]
  ) {
    assert.throws(
      () => resolveOptions({ [given!]: true } as never),
      (e) => e instanceof TypeError && e.message.includes(`did you mean "${meant}"`),
    );
  }
});
