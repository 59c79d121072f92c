/**
 * No secret leaks: every failure path runs with canary values (API key, a plaintext sentence,
 * a key password, private key bytes), a capturing logger at `debug` and a capturing tracer (or
 * `debug: true` on the console); none of them may appear in any error's message, stack, cause,
 * JSON or inspect output, in any logged line, in any span's name or attributes, or in anything
 * written to the console.
 */
import assert from "node:assert/strict";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import { Cause, ConfigProvider, Effect, Exit, Layer } from "effect";
import { nomyoLayerConfig, nomyoLayerFetch } from "../../src/client/layer.ts";
import type { ClientOptions } from "../../src/client/options.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { TAMPERS } from "../../src/testing/faults.ts";
import { redirect, startHostileServer } from "../transport/_hostile_server.ts";
import { capturingLogger, capturingTracer, linesText, spanTexts } from "./_capture.ts";

const API_KEY = "sk-canary-APIKEY-7f3a9b1c2d4e";
const PLAINTEXT = "CANARY-PLAINTEXT Jane Roe, diagnosis Z99.89, MRN 0042-7731";
const PASSWORD = "canary-password-Q8x7w6v5";

/** The Config layer on the runtime's fetch (it never gets as far as fetching here). */
const nomyoLayerFetchConfig = () =>
  nomyoLayerConfig({ keySize: 2048 }).pipe(Layer.provide(FetchHttpClient.layer));

/** Every way an error can be shown, cause chain included. */
const renderings = (e: unknown, depth = 0): string[] => {
  if (depth > 5 || e === undefined || e === null) return [];
  const out = [String(e), Deno.inspect(e, { depth: 20, showHidden: true, colors: false })];
  try {
    out.push(JSON.stringify(e) ?? "");
  } catch {
    out.push("<unserializable>");
  }
  if (e instanceof Error) {
    out.push(e.message, e.stack ?? "");
    out.push(...renderings(e.cause, depth + 1));
  }
  return out;
};

Deno.test("no canary (API key, plaintext, password, key bytes) leaks from any failure path", async () => {
  const captured: string[] = [];
  const original = { ...console };
  for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    console[level] = (...args: unknown[]) => {
      captured.push(
        args.map((a) => typeof a === "string" ? a : Deno.inspect(a, { depth: 20 })).join(" "),
      );
    };
  }
  const logger = capturingLogger();
  const tracer = capturingTracer();
  // Every client logs at debug to the capturing logger and traces to the capturing tracer.
  const observed = { logger, logLevel: "debug", tracer } as const;
  const errors: unknown[] = [];
  const collect = (p: Promise<unknown>) =>
    p.then(() => errors.push("UNEXPECTED SUCCESS"), (e) => errors.push(e));
  const dir = await Deno.makeTempDir();
  const router = await startTestRouter({ apiKey: "the-router-wants-another-key" });
  const ask = { model: "m", messages: [{ role: "user", content: PLAINTEXT }] };
  let privateKeyLines: string[] = [];
  try {
    const client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      maxRetries: 1,
      ...observed,
    });
    // One success (its debug lines and spans are searched too), then 401, then every status
    // with a body, then tampered answers (right key per request).
    const answered = await client.create({ ...ask, api_key: "the-router-wants-another-key" });
    assert.ok(answered.choices[0]?.message.content?.includes("CANARY-PLAINTEXT"));
    await collect(client.create(ask));
    for (const status of [400, 403, 404, 429, 500, 502, 503, 504]) {
      router.inject({ status, detail: `status ${status}`, retryAfter: "0", times: 2 });
      await collect(client.create({ ...ask, api_key: "the-router-wants-another-key" }));
    }
    for (const tamper of TAMPERS) {
      router.inject({ tamper });
      await collect(client.create({ ...ask, api_key: "the-router-wants-another-key" }));
    }
    // Guards.
    await collect(client.create({ ...ask, api_key: `${API_KEY}\r\nX-Leak: 1` }));
    await collect(client.create({ ...ask, security_tier: "nope" as never }));
    await collect(
      client.create({ ...ask, messages: [{ role: "user", content: PLAINTEXT.repeat(200_000) }] }),
    );
    // Abort, then dispose with a request in flight, then a call after dispose.
    const authorized = { ...ask, api_key: "the-router-wants-another-key" };
    router.inject({ delayMs: 5_000 });
    const controller = new AbortController();
    const aborted = collect(client.create(authorized, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await aborted;
    router.inject({ delayMs: 5_000 });
    const inFlight = collect(client.create(authorized));
    await new Promise((r) => setTimeout(r, 50));
    await client.dispose();
    await inFlight;
    await collect(client.create(ask));

    // Pin mismatch, unreachable router.
    const pinned = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      serverKeyFingerprint: "ab".repeat(32),
      ...observed,
    });
    await collect(pinned.create(ask));
    await pinned.dispose();
    const closed = await startTestRouter();
    const deadUrl = closed.url;
    await closed.close();
    const dead = new SecureChatCompletion({
      baseUrl: deadUrl,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      maxRetries: 0,
      debug: true, // the console path
    });
    await collect(dead.create(ask));
    await dead.dispose();

    // Refused options: unknown keys (with a typo), wrong types, clashing aliases, http://, in
    // the constructors and in the layers (whose causes are rendered too).
    const refusedOptions: unknown[] = [
      { apiKey: API_KEY, baseURL: "http://x", apikey: API_KEY },
      { apiKey: API_KEY, baseURL: "http://127.0.0.1:1" },
      { apiKey: API_KEY, baseUrl: "https://a.example", routerUrl: "https://b.example" },
      { apiKey: API_KEY, timeout: API_KEY, keyPassword: PASSWORD },
      { apiKey: API_KEY, serverKeyFingerprint: API_KEY },
      { apiKey: API_KEY, securityTier: API_KEY },
      { api_key: API_KEY, keyPassword: 42 },
    ];
    for (const options of refusedOptions) {
      for (const make of [SecureChatCompletion, SecureCompletionClient]) {
        try {
          new make(options as ClientOptions);
          errors.push("UNEXPECTED SUCCESS");
        } catch (e) {
          errors.push(e);
        }
      }
      const exit = await Effect.runPromiseExit(
        Effect.scoped(Layer.build(nomyoLayerFetch(options as ClientOptions))),
      );
      if (Exit.isSuccess(exit)) errors.push("UNEXPECTED SUCCESS");
      else errors.push(Cause.squash(exit.cause), Cause.pretty(exit.cause));
    }
    const fromConfig = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(nomyoLayerFetchConfig())).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["NOMYO_BASE_URL", "http://127.0.0.1:1"], ["NOMYO_API_KEY", API_KEY]]),
        )),
      ),
    );
    if (Exit.isSuccess(fromConfig)) errors.push("UNEXPECTED SUCCESS");
    else errors.push(Cause.squash(fromConfig.cause), Cause.pretty(fromConfig.cause));

    // Redirects (with the canaries in the Location), on both endpoints, followed or not.
    for (const endpoint of ["/pki/public_key", "/v1/chat/secure_completion"]) {
      const redirecting = await startHostileServer((req) =>
        req.path === endpoint
          ? redirect(307, `${router.url}/${encodeURIComponent(API_KEY + PLAINTEXT)}`)
          : new Response(router.publicKeyPem)
      );
      for (
        const fetch of [
          undefined,
          (i: RequestInfo | URL, init?: RequestInit) =>
            globalThis.fetch(i, { ...init, redirect: "follow" }),
        ]
      ) {
        const redirected = new SecureChatCompletion({
          baseUrl: redirecting.url,
          allowHttp: true,
          apiKey: API_KEY,
          keySize: 2048,
          maxRetries: 1,
          ...observed,
          ...(fetch === undefined ? {} : { fetch }),
        });
        await collect(redirected.create(ask));
        await redirected.dispose();
      }
      await redirecting.close();
    }

    // Key files: wrong password, world-readable, mismatched public key, garbage to decrypt.
    const keys = new SecureCompletionClient({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      ...observed,
    });
    const saved = (await keys.generateKeys({
      keySize: 2048,
      saveToFile: true,
      keyDir: join(dir, "a"),
      password: PASSWORD,
    }))!;
    const plain =
      (await keys.generateKeys({ keySize: 2048, saveToFile: true, keyDir: join(dir, "b") }))!;
    privateKeyLines = (await Deno.readTextFile(plain.privateKeyPath)).split("\n").filter((l) =>
      l.length === 64
    ).slice(-6);
    await collect(keys.loadKeys(saved.privateKeyPath, undefined, `${PASSWORD}-wrong`));
    await collect(keys.loadKeys(saved.privateKeyPath, undefined, undefined));
    await collect(keys.loadKeys(plain.privateKeyPath, saved.publicKeyPath));
    await chmod(plain.privateKeyPath, 0o644);
    await collect(keys.loadKeys(plain.privateKeyPath));
    await writeFile(
      join(dir, "broken.pem"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      { mode: 0o600 },
    );
    await collect(keys.loadKeys(join(dir, "broken.pem")));
    await collect(
      keys.generateKeys({ saveToFile: true, keyDir: join(dir, "c"), password: "short" }),
    );
    await collect(keys.decryptResponse(new TextEncoder().encode(`{"leak":"${PLAINTEXT}"}`), "pid"));
    await collect(keys.sendSecureRequest(ask, "pid-attest", API_KEY, "maximum"));
    await keys.dispose();

    // Crash recovery: a key directory as a killed save leaves it (the private key of one pair,
    // the public key of another, temporary files holding key material), where the repair
    // cannot write (public_key.pem is a directory), or the password is wrong.
    const crashed = join(dir, "crashed");
    await Deno.mkdir(crashed, { mode: 0o700 });
    const privatePem = await Deno.readTextFile(plain.privateKeyPath);
    await writeFile(join(crashed, "private_key.pem"), privatePem, { mode: 0o600 });
    await Deno.mkdir(join(crashed, "public_key.pem"));
    const temp = join(crashed, ".private_key.pem.4194305-0123456789abcdef.tmp");
    await writeFile(temp, privatePem, { mode: 0o600 });
    // Old enough to be removed even where the dead saver cannot be told (Deno, no --allow-run).
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await Deno.utime(temp, longAgo, longAgo);
    const crashedClient = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keyDir: crashed,
      ...observed,
    });
    await collect(crashedClient.create(ask));
    await crashedClient.dispose();
    await assert.rejects(Deno.lstat(temp), Deno.errors.NotFound);
    const crashedEncrypted = join(dir, "crashed-encrypted");
    await Deno.mkdir(crashedEncrypted, { mode: 0o700 });
    await writeFile(
      join(crashedEncrypted, "private_key.pem"),
      await Deno.readTextFile(saved.privateKeyPath),
      { mode: 0o600 },
    );
    await writeFile(
      join(crashedEncrypted, "public_key.pem"),
      await Deno.readTextFile(plain.publicKeyPath),
    );
    const wrongPassword = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keyDir: crashedEncrypted,
      keyPassword: `${PASSWORD}-wrong`,
      ...observed,
    });
    await collect(wrongPassword.create(ask));
    await wrongPassword.dispose();
  } finally {
    Object.assign(console, original);
    await router.close();
    await Deno.remove(dir, { recursive: true });
  }

  assert.ok(errors.length >= 41, `ran ${errors.length} failure paths`);
  assert.equal(
    errors.filter((e) => e instanceof Error && /redirect/.test(e.message)).length,
    4,
    "the four redirect paths failed as redirects",
  );
  assert.ok(!errors.includes("UNEXPECTED SUCCESS"), "every path failed as intended");
  assert.ok(
    captured.some((line) => /router key fetch failed/.test(line)),
    "console debug captured",
  );
  const lines = linesText(logger.lines);
  assert.ok(lines.some((line) => /attempt \d+ failed/.test(line)), "debug logging was captured");
  assert.ok(lines.some((line) => /retrying in/.test(line)), "retries were logged");
  assert.ok(lines.some((line) => /plain HTTP/.test(line)), "warnings were logged");
  const spans = spanTexts(tracer.spans);
  for (const name of ["nomyo.create", "nomyo.send", "nomyo.seal", "nomyo.router_key.fetch"]) {
    assert.ok(spans.includes(name), `${name} was traced`);
  }
  assert.ok(spans.some((t) => /^attempt \d+ failed/.test(t)), "log lines were span events");
  assert.ok(spans.some((t) => /Error/.test(t)), "failed spans' causes were rendered");
  assert.equal(privateKeyLines.length, 6);
  const canaries = [API_KEY, PLAINTEXT, "Jane Roe", "Z99.89", PASSWORD, ...privateKeyLines];
  const texts = [...errors.flatMap((e) => renderings(e)), ...captured, ...lines, ...spans];
  for (const canary of canaries) {
    const hit = texts.find((t) => t.includes(canary));
    assert.equal(hit, undefined, `canary ${canary.slice(0, 12)}… leaked in: ${hit?.slice(0, 300)}`);
  }
});
