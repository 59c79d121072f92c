/**
 * The `logger`, `logLevel` and `tracer` options: every line the client writes reaches the
 * caller's logger (at each level the right subset), Effect users get the same lines through
 * their Effect `Logger`, the `nomyo.*` spans reach the tracer with the right attributes and
 * parentage, and results carry `_request_id`.
 */
import assert from "node:assert/strict";
import { Chunk, Effect, Exit, Fiber, Logger, TestClock, TestContext } from "effect";
import { nomyoLayerFetch } from "../../src/client/layer.ts";
import { makeClientObservability } from "../../src/client/observability.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { resolveOptions } from "../../src/client/options.ts";
import { KeyRing, layerKeyRing } from "../../src/keys/key_ring.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { statusError } from "../../src/transport/status_errors.ts";
import { captureConsole } from "../_helpers.ts";
import { capturingLogger, capturingTracer, type Line, named, parentId } from "./_capture.ts";
import { makeScripted, serviceLayer } from "./_scripted_transport.ts";

const FAST = { keySize: 2048, keyRotationInterval: 0 } as const;
const ask = (content: string) => ({ model: "m", messages: [{ role: "user", content }] });
const has = (lines: readonly Line[], level: Line["level"], pattern: RegExp) =>
  lines.some((l) => l.level === level && pattern.test(l.message));

Deno.test("the logger gets the plain-HTTP warning once per client, and the console nothing", async () => {
  const router = await startTestRouter();
  try {
    const logger = capturingLogger();
    const printed = await captureConsole(["log", "warn", "error", "info", "debug"], async () => {
      for (let i = 0; i < 2; i++) {
        await using client = new SecureChatCompletion({
          baseUrl: router.url,
          allowHttp: true,
          logger,
          ...FAST,
        });
        await client.create(ask("a"));
        await client.create(ask("b"));
      }
    });
    assert.deepEqual(printed, []);
    const warnings = logger.lines.filter((l) => l.level === "warn");
    assert.equal(warnings.length, 2, "once per client, two clients");
    assert.ok(warnings.every((l) => l.message.startsWith(`plain HTTP to ${router.url} `)));
    assert.ok(!logger.lines.some((l) => l.level === "debug"), "debug is off by default");
  } finally {
    await router.close();
  }
});

Deno.test("without a logger, the warning still goes to console.warn as before", async () => {
  const router = await startTestRouter();
  try {
    const printed = await captureConsole(["warn"], async () => {
      await using client = new SecureChatCompletion({
        baseUrl: router.url,
        allowHttp: true,
        ...FAST,
      });
      await client.create(ask("a"));
    });
    assert.equal(printed.length, 1);
    assert.ok(printed[0]!.startsWith("[@nomyo/client] WARNING: plain HTTP to "), printed[0]);
  } finally {
    await router.close();
  }
});

Deno.test("each logLevel gets its subset of the lines of a request with a retry and a key fetch failure", async () => {
  const router = await startTestRouter();
  try {
    const linesAt = async (options: Record<string, unknown>) => {
      const logger = capturingLogger();
      await using client = new SecureChatCompletion({
        baseUrl: router.url,
        allowHttp: true,
        logger,
        maxRetries: 2,
        ...FAST,
        ...options,
      });
      router.inject({ path: "public_key", status: 503, retryAfter: "0" });
      router.inject({ status: 503, retryAfter: "0" });
      const answer = await client.create(ask("hello"));
      assert.equal(answer.choices[0]?.message.content, "Echo: hello");
      return logger.lines;
    };
    const debug = await linesAt({ logLevel: "debug" });
    assert.ok(has(debug, "warn", /^plain HTTP to /));
    assert.ok(has(debug, "debug", /^router key fetch failed: ServiceUnavailableError/));
    assert.ok(!has(debug, "debug", /^attempt 1: sending/), "attempt 1 stopped at the key fetch");
    assert.ok(has(debug, "debug", /^retrying in /));
    assert.ok(has(debug, "debug", /^attempt 2 failed: ServiceUnavailableError/));
    assert.ok(has(debug, "debug", /^attempt 3: sending to /));
    assert.ok(has(debug, "debug", /^attempt 3: opened answer \(\d+ bytes\)$/));
    const payloadIds = new Set(
      debug.filter((l) => l.level === "debug").map((l) =>
        (l.rest[0] as { payload_id?: string } | undefined)?.payload_id
      ),
    );
    assert.equal(payloadIds.size, 1, "every request line carries its payload id");
    assert.equal(typeof [...payloadIds][0], "string");
    const shape = (lines: readonly Line[]) =>
      lines.map((l) => `${l.level} ${l.message.slice(0, 12)}`);
    assert.deepEqual(shape(await linesAt({ debug: true })), shape(debug), "debug: true is debug");
    for (const level of ["warn", "info"] as const) {
      const lines = await linesAt({ logLevel: level });
      assert.deepEqual(lines.map((l) => l.level), ["warn"], level);
    }
    for (const level of ["error", "off"] as const) {
      assert.deepEqual(await linesAt({ logLevel: level }), [], level);
    }
  } finally {
    await router.close();
  }
});

Deno.test("debug and logLevel that disagree are a TypeError; agreeing ones are accepted", () => {
  for (const options of [{ debug: true, logLevel: "warn" }, { debug: false, logLevel: "debug" }]) {
    assert.throws(() => resolveOptions(options as never), {
      name: "TypeError",
      message: new RegExp(`^Cannot create client: debug: ${options.debug} and logLevel`),
    });
  }
  assert.equal(resolveOptions({ debug: true, logLevel: "debug" }).logLevel, "debug");
  assert.equal(resolveOptions({ debug: false, logLevel: "info" }).logLevel, "info");
  assert.equal(resolveOptions({}).logLevel, "warn");
});

Deno.test("a logger that throws does not fail the request", async () => {
  const router = await startTestRouter();
  try {
    const boom = () => {
      throw new Error("logger down");
    };
    await using client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      logger: { error: boom, warn: boom, info: boom, debug: boom },
      logLevel: "debug",
      ...FAST,
    });
    assert.equal((await client.create(ask("x"))).choices[0]?.message.content, "Echo: x");
  } finally {
    await router.close();
  }
});

Deno.test("Effect users get the lines through their Effect Logger, or the logger option's", async () => {
  const router = await startTestRouter();
  try {
    const effectLines: string[] = [];
    const theirs = Logger.make(({ logLevel, message }) => {
      effectLines.push(`${logLevel.label} ${String(message)}`);
    });
    const program = Effect.flatMap(SecureCompletion, (s) => s.create(ask("e")));
    const printed = await captureConsole(["log", "warn", "error", "info", "debug"], async () => {
      await Effect.runPromise(program.pipe(
        Effect.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, ...FAST })),
        Effect.provide(Logger.replace(Logger.defaultLogger, theirs)),
      ));
    });
    assert.deepEqual(printed, [], "their logger replaced the default: nothing printed");
    assert.equal(effectLines.length, 1);
    assert.match(effectLines[0]!, /^WARN plain HTTP to /);

    const logger = capturingLogger();
    await Effect.runPromise(program.pipe(
      Effect.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, logger, ...FAST })),
    ));
    assert.ok(has(logger.lines, "warn", /^plain HTTP to /));
  } finally {
    await router.close();
  }
});

Deno.test("serveProxy() gives its off-loopback warning to its logger", async () => {
  // Binding 0.0.0.0 needs a permission this run does not have: a child process binds it.
  const proxy = new URL("../../src/proxy/proxy.ts", import.meta.url).href;
  const code = `
    import { serveProxy } from ${JSON.stringify(proxy)};
    const lines = [];
    const at = (level) => (message) => lines.push({ level, message });
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
    const p = await serveProxy({
      handler: () => Promise.resolve(new Response()),
      hostname: "0.0.0.0",
      allowRemote: true,
      logger,
    });
    await p.close();
    console.log(JSON.stringify(lines));`;
  const out = await new Deno.Command("deno", {
    args: ["eval", "--frozen", "--allow-net=0.0.0.0", "--allow-read", "--allow-env", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = JSON.parse(stdout.trim().split("\n").at(-1)!) as Line[];
  assert.equal(lines.length, 1, stdout);
  assert.ok(has(lines, "warn", /^the proxy listens on 0\.0\.0\.0, not on loopback/));
  await assert.rejects(
    serveProxy({ handler: () => Promise.resolve(new Response()), logger: {} as never }),
    { name: "TypeError", message: /logger must have error, warn, info and debug functions/ },
  );
});

// ---------------------------------------------------------------------------------------------
// Spans

Deno.test("a create with a retry gives nomyo.* spans with their attributes and parentage (TestClock)", async () => {
  const tracer = capturingTracer();
  const logger = capturingLogger();
  const scripted = makeScripted([
    () => statusError(503, { detail: "busy" }, {}),
    "ok",
  ]);
  const observability = makeClientObservability({ logger, logLevel: "debug", tracer });
  const program = Effect.gen(function* () {
    const service = yield* SecureCompletion;
    const fiber = yield* Effect.fork(service.create(ask("traced"), { securityTier: "high" }));
    while (fiber.unsafePoll() === null) {
      const sleeps = yield* TestClock.sleeps();
      if (Chunk.isNonEmpty(sleeps)) yield* TestClock.setTime(Math.min(...sleeps));
      else yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1)));
    }
    return yield* Fiber.await(fiber);
  }).pipe(
    Effect.provide(serviceLayer(scripted, { observability })),
    Effect.provide(TestContext.TestContext),
  );
  const exit = await Effect.runPromise(program);
  assert.ok(Exit.isSuccess(exit));
  const payloadId = exit.value._metadata.payload_id;
  assert.equal(exit.value._request_id, payloadId, "no x-request-id: the payload id");

  const [create, ...moreCreates] = named(tracer.spans, "nomyo.create");
  assert.ok(create !== undefined && moreCreates.length === 0);
  assert.equal(parentId(create), undefined);
  assert.equal(create.attributes.get("nomyo.payload_id"), payloadId);
  assert.equal(create.attributes.get("nomyo.model"), "m");
  assert.equal(create.attributes.get("nomyo.security_tier"), "high");
  assert.equal(create.attributes.get("nomyo.router.origin"), "https://router.test");
  assert.equal(create.attributes.get("nomyo.attempts"), 2);
  assert.equal(create.status._tag, "Ended");

  const children = (name: string) => {
    const spans = named(tracer.spans, name);
    for (const s of spans) assert.equal(parentId(s), create.spanId, `${name} is a child of create`);
    return spans;
  };
  const [fetch] = children("nomyo.router_key.fetch");
  assert.equal(fetch?.attributes.get("nomyo.router.origin"), "https://router.test");
  assert.match(String(fetch?.attributes.get("nomyo.router.key_fingerprint")), /^[0-9a-f]{64}$/);
  const seals = children("nomyo.seal");
  assert.equal(seals.length, 2, "every attempt is sealed afresh");
  assert.ok(seals.every((s) => (s.attributes.get("nomyo.plaintext.bytes") as number) > 0));
  const sends = children("nomyo.send");
  assert.deepEqual(sends.map((s) => s.attributes.get("nomyo.attempt")), [1, 2]);
  assert.equal(sends[0]!.attributes.get("http.response.status_code"), 503);
  assert.equal(sends[0]!.attributes.get("error.type"), "ServiceUnavailableError");
  assert.equal(sends[0]!.attributes.get("nomyo.retry.delay_ms"), undefined);
  const delay = sends[1]!.attributes.get("nomyo.retry.delay_ms") as number;
  assert.ok(delay >= 800 && delay <= 1200, `the backoff before attempt 2: ${delay} ms`);
  assert.equal(sends[1]!.attributes.get("http.response.status_code"), 200);
  assert.ok((sends[1]!.attributes.get("nomyo.request.bytes") as number) > 0);
  assert.ok((sends[1]!.attributes.get("nomyo.response.bytes") as number) > 0);
  const opens = children("nomyo.open");
  assert.equal(opens.length, 1);
  assert.equal(
    opens[0]!.attributes.get("nomyo.response.bytes"),
    sends[1]!.attributes.get("nomyo.response.bytes"),
  );
  assert.ok(has(logger.lines, "debug", /^retrying in /));
  const text = tracer.spans.flatMap((s) => [...s.attributes.values()].map(String)).join("\n");
  assert.ok(!text.includes("traced"), "no message content in any attribute");
});

Deno.test("the tracer option turns the spans on for the Promise client, key generation included", async () => {
  const router = await startTestRouter({ tpm: true });
  try {
    const tracer = capturingTracer();
    await using client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      tracer,
      attestation: "require",
      logLevel: "off",
      ...FAST,
    });
    const answer = await client.create({ ...ask("x"), security_tier: "maximum" });
    const names = new Set(tracer.spans.map((s) => s.name));
    for (
      const name of [
        "nomyo.key.generate",
        "nomyo.create",
        "nomyo.router_key.fetch",
        "nomyo.seal",
        "nomyo.send",
        "nomyo.open",
        "nomyo.attestation",
      ]
    ) assert.ok(names.has(name), `${name} in ${[...names]}`);
    const [attestation] = named(tracer.spans, "nomyo.attestation");
    assert.equal(attestation?.attributes.get("nomyo.attestation.mode"), "require");
    assert.equal(parentId(attestation!), named(tracer.spans, "nomyo.create")[0]!.spanId);
    assert.ok(answer._metadata.attestation_result !== undefined);
  } finally {
    await router.close();
  }
});

Deno.test("results carry the router's x-request-id as a non-enumerable _request_id, as openai-node's", async () => {
  const router = await startTestRouter();
  try {
    await using client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      logLevel: "off",
      ...FAST,
    });
    const answer = await client.create(ask("x"));
    assert.match(answer._request_id ?? "", /^req_[0-9a-f-]{36}$/);
    assert.notEqual(answer._request_id, answer._metadata.payload_id);
    assert.equal(Object.getOwnPropertyDescriptor(answer, "_request_id")?.enumerable, false);
    assert.ok(!JSON.stringify(answer).includes("_request_id"));
    const response = await client.fetch(
      new Request("http://proxy.invalid/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ask("y")),
      }),
    );
    assert.equal(response.status, 200);
    assert.match(response.headers.get("x-request-id") ?? "", /^req_/);
    assert.notEqual(response.headers.get("x-request-id"), response.headers.get("x-payload-id"));
    await response.body?.cancel();
  } finally {
    await router.close();
  }
});

Deno.test("the unencrypted key file warning reaches the client's logger, once per client", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logger = capturingLogger();
    await using client = new SecureCompletionClient({ logger, ...FAST });
    await client.generateKeys({ keySize: 2048, saveToFile: true, keyDir: `${dir}/a` });
    await client.generateKeys({ keySize: 2048, saveToFile: true, keyDir: `${dir}/b` });
    const warnings = logger.lines.filter((l) => l.level === "warn");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /^the private key was saved unencrypted to .*\/a\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KeyRing.rotate is a nomyo.key.rotate span under the Effect program's tracer", async () => {
  const tracer = capturingTracer();
  const generation = await Effect.runPromise(
    Effect.flatMap(KeyRing, (ring) => ring.rotate).pipe(
      Effect.map((pair) => pair.generation),
      Effect.provide(layerKeyRing({ keySize: 2048 })),
      Effect.withTracer(tracer),
    ),
  );
  const [rotate] = named(tracer.spans, "nomyo.key.rotate");
  assert.equal(rotate?.attributes.get("nomyo.key.generation"), generation);
  assert.equal(rotate?.status._tag, "Ended");
});
