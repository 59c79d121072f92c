/**
 * SecureChatCompletion end to end against the in-process test router.
 */
import assert from "node:assert/strict";
import { type ClientOptions, resolveOptions } from "../../src/client/options.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import {
  AbortError,
  APIError,
  AuthenticationError,
  ConflictError,
  DisposedError,
  ForbiddenError,
  InvalidRequestError,
  RateLimitError,
  SecurityError,
  ServerError,
  ServiceUnavailableError,
  UnprocessableEntityError,
} from "../../src/errors.ts";
import { quote } from "../../src/transport/public_key_header.ts";
import {
  startTestRouter,
  type TestRouter,
  type TestRouterOptions,
} from "../../src/testing/router.ts";
import { completions, withClient as withRouterClient } from "../_client.ts";

const ask = (content: string) => ({
  model: "Qwen/Qwen3-0.6B",
  messages: [{ role: "user", content }],
});

/** The shared fixture, options first (as every test here reads). */
const withClient = (
  options: ClientOptions,
  body: (client: SecureChatCompletion, router: TestRouter) => Promise<void>,
  routerOptions: TestRouterOptions = {},
): Promise<void> => withRouterClient(body, options, routerOptions);

Deno.test("SecureChatCompletion.create() makes a full encrypted round trip", async () => {
  await withClient({ apiKey: "test-key" }, async (client, router) => {
    const answer = await client.create({ ...ask("Hello!"), temperature: 0.5 });
    assert.equal(answer.object, "chat.completion");
    assert.equal(answer.choices[0]?.message.content, "Echo: Hello!");
    assert.equal(answer._metadata.is_encrypted, true);
    assert.equal(answer._metadata.encryption_algorithm, "hybrid-aes256-rsa4096");
    assert.equal(answer._metadata.response_status, "success");
    assert.equal(typeof answer._metadata.processed_at, "number");
    const [sent] = completions(router);
    assert.ok(sent !== undefined);
    assert.equal(answer._metadata.payload_id, sent.headers["x-payload-id"]);
    assert.match(
      sent.headers["x-payload-id"]!,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.deepEqual(sent.plaintext, { ...ask("Hello!"), temperature: 0.5 });
    // Nothing of the prompt in clear on the wire.
    assert.ok(!new TextDecoder().decode(sent.body).includes("Hello!"));
  });
});

Deno.test("SecureChatCompletion sends exactly the protocol's headers", async () => {
  await withClient({ apiKey: "test-key" }, async (client, router) => {
    await client.create({ ...ask("x"), security_tier: "high" });
    const sent = completions(router)[0]!;
    const h = sent.headers;
    assert.equal(h["content-type"], "application/octet-stream");
    assert.equal(h["authorization"], "Bearer test-key");
    assert.equal(h["x-security-tier"], "high");
    assert.equal(h["user-agent"], "nomyo-client-ts/0.1.0");
    // X-Public-Key: percent-encoded like Python's urllib.parse.quote ("/" kept).
    const pem = decodeURIComponent(h["x-public-key"]!);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(h["x-public-key"], quote(pem));
    assert.ok(h["x-public-key"]!.includes("%20") && h["x-public-key"]!.includes("%0A"));
    // Only the protocol's headers and what the HTTP stack itself adds.
    const transport = new Set([
      "host",
      "connection",
      "content-length",
      "accept",
      "accept-encoding",
      "accept-language",
      "sec-fetch-mode",
      "user-agent",
    ]);
    const protocol = new Set([
      "content-type",
      "x-payload-id",
      "x-public-key",
      "authorization",
      "x-security-tier",
    ]);
    for (const name of Object.keys(h)) {
      assert.ok(transport.has(name) || protocol.has(name), `unexpected header ${name}`);
    }
  });
});

Deno.test("X-Public-Key encoding equals the Python client's, byte for byte", async () => {
  const { vectorJson, vectorText } = await import("../_helpers.ts");
  const pem = await vectorText("protocol/client_public_key.pem");
  const requests = await vectorJson<{ requests: { headers: Record<string, string> }[] }>(
    "protocol/requests.json",
  );
  for (const r of requests.requests) assert.equal(quote(pem), r.headers["X-Public-Key"]);
});

Deno.test("SecureChatCompletion.create() passes tools and returns tool_calls", async () => {
  await withClient({}, async (client, router) => {
    const tools = [{
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "Weather",
        parameters: { type: "object", properties: { location: { type: "string" } } },
      },
    }];
    const answer = await client.create({ ...ask("Paris?"), tools, tool_choice: "auto" });
    const choice = answer.choices[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls?.[0]?.function.name, "get_weather");
    assert.equal(JSON.parse(choice.message.tool_calls![0]!.function.arguments).echo, "Paris?");
    assert.deepEqual((completions(router)[0]!.plaintext as { tools: unknown }).tools, tools);
  });
});

Deno.test("SecureChatCompletion passes every OpenAI parameter and strips client options", async () => {
  await withClient({}, async (client, router) => {
    const params = {
      ...ask("p"),
      temperature: 0.1,
      max_tokens: 9,
      top_p: 0.9,
      stop: ["\n\n"],
      n: 2,
      user: "u-1",
      frequency_penalty: 0.2,
      presence_penalty: 0.3,
      logit_bias: { "42": -1 },
      response_format: { type: "json_object" },
      seed: 7,
      some_future_parameter: { nested: [1, 2] },
    };
    const answer = await client.create({
      ...params,
      security_tier: "standard",
      api_key: "per-request",
      base_url: router.url,
    });
    assert.equal(answer.choices.length, 2);
    const sent = completions(router)[0]!;
    assert.deepEqual(sent.plaintext, params);
    assert.equal(sent.headers["authorization"], "Bearer per-request");
    assert.equal(sent.headers["x-security-tier"], "standard");
  });
});

Deno.test("client.chat.completions.create and acreate are create", async () => {
  await withClient({}, async (client) => {
    assert.equal(
      (await client.chat.completions.create(ask("a"))).choices[0]?.message.content,
      "Echo: a",
    );
    assert.equal((await client.acreate(ask("b"))).choices[0]?.message.content, "Echo: b");
  });
});

Deno.test("SecureChatCompletion maps every status of the table to its error", async () => {
  const table: [number, new (...a: never[]) => APIError<never>][] = [
    [400, InvalidRequestError as never],
    [401, AuthenticationError as never],
    [403, ForbiddenError as never],
    [404, APIError as never],
    [409, ConflictError as never],
    [422, UnprocessableEntityError as never],
    [429, RateLimitError as never],
    [500, ServerError as never],
    [502, APIError as never],
    [503, ServiceUnavailableError as never],
    [504, APIError as never],
    [418, APIError as never],
  ];
  await withClient({}, async (client, router) => {
    for (const [status, cls] of table) {
      router.inject({ status, detail: `detail for ${status}`, retryAfter: "3" });
      const error = await client.create(ask("s")).then(() => undefined, (e) => e);
      assert.ok(error instanceof cls, `${status}: ${error?.name}`);
      assert.equal(error.status, status);
      assert.deepEqual(error.body, { detail: `detail for ${status}` });
      assert.match(error.message, new RegExp(`detail for ${status}`));
      assert.equal(error.retryAfter, 3);
      assert.match(error.payloadId ?? "", /^[0-9a-f-]{36}$/);
    }
    // A body that is not JSON is kept as text.
    router.inject({ status: 502, rawBody: "<html>bad gateway</html>" });
    const error = await client.create(ask("s")).then(() => undefined, (e) => e);
    assert.ok(error instanceof APIError);
    assert.equal(error.body, "<html>bad gateway</html>");
  });
});

Deno.test("SecureChatCompletion retries 503 then succeeds against the router", async () => {
  await withClient({ maxRetries: 2 }, async (client, router) => {
    router.inject({ status: 503, detail: "backend down", retryAfter: "0", times: 2 });
    const answer = await client.create(ask("retry"));
    assert.equal(answer.choices[0]?.message.content, "Echo: retry");
    assert.equal(completions(router).length, 3);
  });
});

Deno.test("security_tier maximum on a router without a TPM says why", async () => {
  await withClient({}, async (client) => {
    const error = await client.create({ ...ask("m"), security_tier: "maximum" }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof ServiceUnavailableError);
    assert.match(error.message, /TPM/);
  });
});

Deno.test("SecureChatCompletion fetches the router key once for many requests", async () => {
  await withClient({}, async (client, router) => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.create(ask(`q${i}`))));
    for (let i = 0; i < 5; i++) await client.create(ask(`s${i}`));
    assert.equal(router.publicKeyFetches, 1);
  });
});

Deno.test("SecureChatCompletion refuses a router key that does not match the pin", async () => {
  await withClient({ serverKeyFingerprint: "00".repeat(32) }, async (client, router) => {
    const error = await client.create(ask("pin")).then(() => undefined, (e) => e);
    assert.ok(error instanceof SecurityError);
    assert.equal(error.reason, "FingerprintMismatch");
    assert.equal(completions(router).length, 0);
  });
  // The right pin (with colons and upper case) is accepted.
  const router = await startTestRouter();
  const pin = router.fingerprint.toUpperCase().match(/../g)!.join(":");
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    serverKeyFingerprint: pin,
  });
  try {
    assert.equal((await client.create(ask("ok"))).choices[0]?.message.content, "Echo: ok");
  } finally {
    await client.dispose();
    await router.close();
  }
});

Deno.test("SecureChatCompletion survives the router changing its key mid-run", async () => {
  await withClient({ maxRetries: 2 }, async (client, router) => {
    await client.create(ask("before"));
    const inFlight = Array.from({ length: 10 }, (_, i) => client.create(ask(`during ${i}`)));
    await router.rotateKey();
    const more = Array.from({ length: 10 }, (_, i) => client.create(ask(`after ${i}`)));
    const answers = await Promise.all([...inFlight, ...more]);
    answers.forEach((a, i) =>
      assert.equal(
        a.choices[0]?.message.content,
        `Echo: ${i < 10 ? `during ${i}` : `after ${i - 10}`}`,
      )
    );
    assert.ok(router.publicKeyFetches >= 2);
  });
});

Deno.test("SecureChatCompletion gives 50 concurrent requests each its own answer", async () => {
  await withClient({}, async (client) => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.create(ask(`question ${i}`))),
    );
    answers.forEach((a, i) => assert.equal(a.choices[0]?.message.content, `Echo: question ${i}`));
    assert.equal(new Set(answers.map((a) => a._metadata.payload_id)).size, 50);
  });
});

Deno.test("guards refuse before any byte is sent", async () => {
  assert.throws(
    () => new SecureChatCompletion({ baseUrl: "http://127.0.0.1:1" }),
    (e) => e instanceof SecurityError && e.reason === "InsecureTransport",
  );
  assert.throws(
    () => new SecureChatCompletion({ baseUrl: "https://user:pw@example.com" }),
    (e) => e instanceof SecurityError && !String(e.message).includes("pw"),
  );
  assert.throws(() => resolveOptions({ keySize: 3072 as never }), TypeError);
  await withClient({}, async (client, router) => {
    const cases: [string, Promise<unknown>, string][] = [
      [
        "api key with LF",
        client.create({ ...ask("x"), api_key: "abc\nX-Evil: 1" }),
        "HeaderInjection",
      ],
      ["api key with CR", client.create({ ...ask("x"), api_key: "abc\r" }), "HeaderInjection"],
      ["api key with NUL", client.create({ ...ask("x"), api_key: "abc\0" }), "HeaderInjection"],
      [
        "bad tier",
        client.create({ ...ask("x"), security_tier: "ultra" as never }),
        "InvalidSecurityTier",
      ],
      ["http base_url", client.create({ ...ask("x"), base_url: "ftp://x" }), "InsecureTransport"],
      ["too large", client.create(ask("y".repeat(10 * 1024 * 1024))), "PayloadTooLarge"],
    ];
    for (const [what, promise, reason] of cases) {
      const error = await promise.then(() => undefined, (e) => e);
      assert.ok(error instanceof SecurityError, what);
      assert.equal(error.reason, reason, what);
      assert.ok(!error.message.includes("abc"), `${what}: no secret in the message`);
    }
    await assert.rejects(client.create(ask("x"), { timeout: -1 }), TypeError);
    await assert.rejects(client.create(null as never), TypeError);
    assert.equal(router.requests.length, 0, "nothing reached the router");
  });
});

Deno.test("SecureChatCompletion refuses a response over maxResponseBytes", async () => {
  await withClient({ maxResponseBytes: 600 }, async (client) => {
    const error = await client.create(ask("z".repeat(2000))).then(() => undefined, (e) => e);
    assert.ok(error instanceof SecurityError);
    assert.equal(error.reason, "ResponseTooLarge");
  });
});

Deno.test("SecureChatCompletion refuses tampered and malformed answers, never retrying them", async () => {
  await withClient({ maxRetries: 2 }, async (client, router) => {
    for (
      const tamper of ["ciphertext", "tag", "nonce", "wrapped-key", "wrong-recipient"] as const
    ) {
      router.inject({ tamper });
      const error = await client.create(ask("t")).then(() => undefined, (e) => e);
      assert.ok(error instanceof SecurityError, tamper);
      assert.equal(error.reason, "DecryptionFailed", tamper);
    }
    for (
      const tamper of [
        "not-json",
        "html",
        "missing-tag",
        "downgrade",
        "plaintext-not-json",
      ] as const
    ) {
      router.inject({ tamper });
      const error = await client.create(ask("t")).then(() => undefined, (e) => e);
      assert.ok(error instanceof SecurityError, tamper);
      assert.ok(["MalformedPackage", "MalformedPlaintext"].includes(error.reason), tamper);
    }
    assert.equal(completions(router).length, 10, "security errors are not retried");
  });
});

Deno.test("SecureChatCompletion.create() rejects with AbortError when its signal fires", async () => {
  await withClient({}, async (client, router) => {
    router.inject({ delayMs: 5_000 });
    const controller = new AbortController();
    const pending = client.create(ask("slow"), { signal: controller.signal });
    while (completions(router).length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await assert.rejects(pending, AbortError);
    const already = new AbortController();
    already.abort();
    await assert.rejects(client.create(ask("x"), { signal: already.signal }), AbortError);
  });
});

Deno.test("dispose() interrupts requests in flight and refuses later calls", async () => {
  const router = await startTestRouter();
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
  try {
    router.inject({ delayMs: 5_000 });
    const pending = client.create(ask("in flight"));
    while (completions(router).length === 0) await new Promise((r) => setTimeout(r, 5));
    await client.dispose();
    await assert.rejects(pending, DisposedError);
    await assert.rejects(client.create(ask("later")), DisposedError);
    await client.dispose(); // harmless twice
    await client[Symbol.asyncDispose]();
  } finally {
    await router.close();
  }
});

Deno.test("SecureChatCompletion reads the API key from NOMYO_API_KEY by default", async () => {
  const previous = Deno.env.get("NOMYO_API_KEY");
  Deno.env.set("NOMYO_API_KEY", "from-env");
  try {
    await withClient({}, async (client, router) => {
      await client.create(ask("env"));
      assert.equal(completions(router)[0]!.headers["authorization"], "Bearer from-env");
    });
  } finally {
    if (previous === undefined) Deno.env.delete("NOMYO_API_KEY");
    else Deno.env.set("NOMYO_API_KEY", previous);
  }
});
