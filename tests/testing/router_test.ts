import assert from "node:assert/strict";
import { Effect } from "effect";
import { startTestRouter, type Tamper, testRouter } from "../../src/testing/router.ts";
import { TAMPERS } from "../../src/testing/faults.ts";
import { pemToDer, vectorText } from "../_helpers.ts";
import {
  chat,
  completionHeaders,
  fetchRouterKey,
  generateClientKeys,
  importPem,
  openBytes,
  openJson,
  postCompletion,
  seal,
  sha256Hex,
} from "./_plain_client.ts";

const NOW = 1_700_000_000;
const REQUEST = {
  model: "echo-1",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello there, router!" },
  ],
  temperature: 0.2,
};
// One client key for the whole file: RSA generation is the slow part.
const keys = await generateClientKeys();

const detailOf = (text: string): string => (JSON.parse(text) as { detail: string }).detail;

Deno.test("startTestRouter() serves its PEM key with the SHA-256 fingerprint of its SPKI", async () => {
  const router = await startTestRouter();
  try {
    assert.match(router.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(router.url, `http://127.0.0.1:${router.port}`);
    const response = await fetch(`${router.url}/pki/public_key`);
    const pem = await response.text();
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(pem, router.publicKeyPem);
    assert.match(
      pem,
      /^-----BEGIN PUBLIC KEY-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n$/,
    );
    const der = pemToDer(pem);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
    assert.equal(
      router.fingerprint,
      Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
    const key = await importPem(pem);
    assert.equal((key.algorithm as RsaHashedKeyAlgorithm).modulusLength, 2048);
    assert.equal(router.publicKeyFetches, 1);
    assert.equal(router.requests.length, 1);
    assert.equal(router.requests[0]!.method, "GET");
    assert.equal(router.requests[0]!.path, "/pki/public_key");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() answers a sealed request with a sealed echo completion", async () => {
  const router = await startTestRouter({ now: () => NOW + 0.9 });
  try {
    const routerKey = await fetchRouterKey(router.url);
    const { response, completion, payloadId } = await chat(router.url, routerKey, keys, REQUEST);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    const pkg = JSON.parse(response.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(pkg), [
      "version",
      "algorithm",
      "encrypted_payload",
      "encrypted_aes_key",
      "key_algorithm",
      "payload_algorithm",
      "processed_at",
    ]);
    assert.equal(pkg.processed_at, NOW);
    const hex = await sha256Hex(payloadId);
    assert.deepEqual(completion, {
      id: `chatcmpl-${hex.slice(0, 12)}`,
      object: "chat.completion",
      created: NOW,
      model: "echo-1",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Echo: Hello there, router!" },
        finish_reason: "stop",
      }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
    const recorded = router.requests[1]!;
    assert.equal(recorded.method, "POST");
    assert.equal(recorded.path, "/v1/chat/secure_completion");
    assert.equal(recorded.payloadId, payloadId);
    assert.deepEqual(recorded.plaintext, REQUEST);
    assert.equal(recorded.headers["x-payload-id"], payloadId);
    assert.equal(recorded.headers["content-type"], "application/octet-stream");
    assert.equal(decodeURIComponent(recorded.headers["x-public-key"]!), keys.pem);
    assert.ok(Object.keys(recorded.headers).every((h) => h === h.toLowerCase()));
    assert.equal(new TextDecoder().decode(recorded.body).startsWith('{"version":"1.0"'), true);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() echoes content parts, n choices and tool calls", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    const parts = await chat(router.url, routerKey, keys, {
      model: "m",
      messages: [
        { role: "user", content: "first" },
        { role: "assistant", content: "ignored" },
        {
          role: "user",
          content: [{ type: "text", text: "look at" }, { type: "image_url", image_url: {} }, {
            type: "text",
            text: "this",
          }],
        },
      ],
      n: 3,
    });
    const choices = parts.completion.choices as { index: number; message: { content: string } }[];
    assert.deepEqual(choices.map((c) => c.index), [0, 1, 2]);
    assert.ok(choices.every((c) => c.message.content === "Echo: look at this"));
    assert.deepEqual(parts.completion.usage, {
      prompt_tokens: 5,
      completion_tokens: 12,
      total_tokens: 17,
    });

    const tools = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object" } } },
      { type: "function", function: { name: "get_time" } },
    ];
    const messages = [{ role: "user", content: "Weather in Paris?" }];
    const called = await chat(router.url, routerKey, keys, { model: "m", messages, tools });
    const hex = await sha256Hex(called.payloadId);
    assert.deepEqual(called.completion.choices, [{
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: `call_${hex.slice(12, 36)}`,
          type: "function",
          function: { name: "get_weather", arguments: '{"echo":"Weather in Paris?"}' },
        }],
      },
      finish_reason: "tool_calls",
    }]);

    const named = await chat(router.url, routerKey, keys, {
      model: "m",
      messages,
      tools,
      tool_choice: { type: "function", function: { name: "get_time" } },
      n: 2,
    });
    const namedChoices = named.completion.choices as {
      message: { content: string | null; tool_calls?: { function: { name: string } }[] };
      finish_reason: string;
    }[];
    assert.equal(namedChoices[0]!.message.tool_calls![0]!.function.name, "get_time");
    assert.equal(namedChoices[1]!.message.content, "Echo: Weather in Paris?");
    assert.equal(namedChoices[1]!.finish_reason, "stop");

    const none = await chat(router.url, routerKey, keys, {
      model: "m",
      messages,
      tools,
      tool_choice: "none",
    });
    assert.deepEqual(
      (none.completion.choices as { message: unknown }[])[0]!.message,
      { role: "assistant", content: "Echo: Weather in Paris?" },
    );
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() accepts X-Public-Key quoted as Python's urllib.parse.quote does", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    // quote() keeps "/", encodeURIComponent() does not.
    const quoted = encodeURIComponent(keys.pem).replace(/%2F/g, "/");
    assert.ok(quoted.includes("/") && quoted.includes("%0A") && quoted.includes("%20"));
    const { completion } = await chat(router.url, routerKey, keys, REQUEST, {
      "X-Public-Key": quoted,
    });
    assert.equal(completion.object, "chat.completion");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() refuses malformed requests with 400 and a detail", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    const otherKeys = await generateClientKeys();
    const body = JSON.stringify(await seal(REQUEST, routerKey));
    const ecPem = await vectorText("keys/ec_p256_spki.pem");
    const rsa1024Pem = await vectorText("keys/rsa1024_spki.pem");
    const headers = (extra: Record<string, string> = {}) => completionHeaders(keys, extra);
    const without = (name: string) => {
      const h = headers();
      delete h[name];
      return h;
    };
    const withPackage = async (change: (p: Record<string, unknown>) => void) => {
      const pkg = await seal(REQUEST, routerKey);
      change(pkg);
      return JSON.stringify(pkg);
    };
    const cases: [string, BodyInit, Record<string, string>, RegExp][] = [
      ["json content type", body, headers({ "Content-Type": "application/json" }), /Content-Type/],
      ["no payload id", body, without("X-Payload-ID"), /X-Payload-ID/],
      ["no public key", body, without("X-Public-Key"), /X-Public-Key/],
      ["bad percent", body, headers({ "X-Public-Key": "%E0%A4%A" }), /percent/],
      ["not pem", body, headers({ "X-Public-Key": "hello" }), /PEM/],
      ["ec key", body, headers({ "X-Public-Key": encodeURIComponent(ecPem) }), /not RSA/],
      ["rsa 1024", body, headers({ "X-Public-Key": encodeURIComponent(rsa1024Pem) }), /1024/],
      ["bad tier", body, headers({ "X-Security-Tier": "ultra" }), /X-Security-Tier/],
      ["body not json", "{", headers(), /decrypt/],
      [
        "missing tag",
        await withPackage((p) => {
          delete (p.encrypted_payload as Record<string, unknown>).tag;
        }),
        headers(),
        /decrypt.*tag/,
      ],
      [
        "downgrade",
        await withPackage((p) => {
          p.algorithm = "hybrid-aes128-rsa2048";
        }),
        headers(),
        /decrypt/,
      ],
      [
        "no key_algorithm",
        await withPackage((p) => {
          delete p.key_algorithm;
        }),
        headers(),
        /decrypt.*key_algorithm/,
      ],
      [
        "sealed to another key",
        JSON.stringify(await seal(REQUEST, otherKeys.publicKey)),
        headers(),
        /^Cannot decrypt payload: decryption failed$/,
      ],
      [
        "plaintext not json",
        JSON.stringify(await seal(new TextEncoder().encode("hi"), routerKey)),
        headers(),
        /JSON/,
      ],
      [
        "plaintext without model",
        JSON.stringify(await seal({ messages: [] }, routerKey)),
        headers(),
        /model/,
      ],
      [
        "messages not an array",
        JSON.stringify(await seal({ model: "m", messages: {} }, routerKey)),
        headers(),
        /messages/,
      ],
      ["n zero", JSON.stringify(await seal({ ...REQUEST, n: 0 }, routerKey)), headers(), /\bn\b/],
    ];
    for (const [name, caseBody, caseHeaders, pattern] of cases) {
      const response = await postCompletion(router.url, caseBody, caseHeaders);
      assert.equal(response.status, 400, name);
      assert.equal(response.headers.get("content-type"), "application/json", name);
      assert.match(detailOf(response.text), pattern, name);
    }
    const opened = router.requests.filter((r) => r.plaintext !== undefined);
    assert.equal(opened.length, 3); // without model, messages not an array, n zero
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() requires the API key when one is configured", async () => {
  const router = await startTestRouter({ apiKey: "sk-test-123" });
  try {
    const routerKey = await fetchRouterKey(router.url); // the key endpoint needs no API key
    for (const auth of [undefined, "Bearer wrong", "sk-test-123", "Bearer sk-test-1234"]) {
      const body = JSON.stringify(await seal(REQUEST, routerKey));
      const response = await postCompletion(
        router.url,
        body,
        completionHeaders(keys, auth === undefined ? {} : { Authorization: auth }),
      );
      assert.equal(response.status, 401, String(auth));
      assert.deepEqual(JSON.parse(response.text), { detail: "Invalid API key" });
    }
    assert.ok(router.requests.every((r) => r.plaintext === undefined));
    const { completion } = await chat(router.url, routerKey, keys, REQUEST, {
      Authorization: "Bearer sk-test-123",
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(router.requests.at(-1)!.headers.authorization, "Bearer sk-test-123");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() honours security tiers: maximum needs a TPM, attestation is attached", async () => {
  const plain = await startTestRouter();
  const withTpm = await startTestRouter({
    tpm: true,
    attestation: (payloadId) => ({ quote_b64: "AAAA", nonce_of: payloadId }),
  });
  try {
    const key = await fetchRouterKey(plain.url);
    for (const tier of ["standard", "high"]) {
      const { completion } = await chat(plain.url, key, keys, REQUEST, { "X-Security-Tier": tier });
      assert.deepEqual(completion._metadata, { model_tier: tier });
    }
    const refused = await postCompletion(
      plain.url,
      JSON.stringify(await seal(REQUEST, key)),
      completionHeaders(keys, { "X-Security-Tier": "maximum" }),
    );
    assert.equal(refused.status, 503);
    assert.match(detailOf(refused.text), /TPM/);

    const tpmKey = await fetchRouterKey(withTpm.url);
    const max = await chat(withTpm.url, tpmKey, keys, REQUEST, { "X-Security-Tier": "maximum" });
    assert.deepEqual(max.completion._metadata, {
      model_tier: "maximum",
      tpm_attestation: { quote_b64: "AAAA", nonce_of: max.payloadId },
    });
    const noTier = await chat(withTpm.url, tpmKey, keys, REQUEST);
    assert.deepEqual(noTier.completion._metadata, {
      tpm_attestation: { quote_b64: "AAAA", nonce_of: noTier.payloadId },
    });
  } finally {
    await Promise.all([plain.close(), withTpm.close()]);
  }
});

Deno.test("startTestRouter() inject() answers status faults in order, `times` times, then serves", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    router.inject(
      { status: 429, detail: "Slow down", retryAfter: "2", times: 2 },
      { status: 503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT" },
      { rawBody: "upstream exploded", status: 502 },
      { rawBody: "<html>oops</html>" },
      { path: "public_key", status: 500, detail: "key store down" },
    );
    const post = async () =>
      postCompletion(
        router.url,
        JSON.stringify(await seal(REQUEST, routerKey)),
        completionHeaders(keys),
      );
    const seen: [number, string | null, string][] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post();
      seen.push([r.status, r.headers.get("retry-after"), r.text]);
    }
    assert.deepEqual(seen, [
      [429, "2", '{"detail":"Slow down"}'],
      [429, "2", '{"detail":"Slow down"}'],
      [503, "Wed, 21 Oct 2015 07:28:00 GMT", '{"detail":"Injected fault: status 503"}'],
      [502, null, "upstream exploded"],
      [500, null, "<html>oops</html>"],
    ]);
    // Faulted requests were still opened and recorded, for retry assertions.
    const completions = router.requests.filter((r) => r.method === "POST");
    assert.equal(completions.length, 5);
    assert.ok(completions.every((r) => JSON.stringify(r.plaintext) === JSON.stringify(REQUEST)));
    assert.equal(new Set(completions.map((r) => r.payloadId)).size, 5);
    // The public key fault is still queued: it was for the other endpoint.
    const keyResponse = await fetch(`${router.url}/pki/public_key`);
    assert.equal(keyResponse.status, 500);
    assert.deepEqual(await keyResponse.json(), { detail: "key store down" });
    assert.equal(router.publicKeyFetches, 2);
    assert.equal((await post()).status, 200);
    router.inject({ status: 500 }, { status: 500 });
    router.clearFaults();
    assert.equal((await post()).status, 200);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() inject() breaks 200 answers in every tamper mode", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    const b64len = (s: unknown) => atob(s as string).length;
    for (const tamper of TAMPERS) {
      router.inject({ tamper });
      const response = await postCompletion(
        router.url,
        JSON.stringify(await seal(REQUEST, routerKey)),
        completionHeaders(keys),
      );
      assert.equal(response.status, 200, tamper);
      if (tamper === "html") {
        assert.equal(response.headers.get("content-type"), "text/html", tamper);
        assert.match(response.text, /^<!DOCTYPE html>/);
        continue;
      }
      assert.equal(response.headers.get("content-type"), "application/json", tamper);
      if (tamper === "not-json") {
        assert.throws(() => JSON.parse(response.text), tamper);
        continue;
      }
      const pkg = JSON.parse(response.text) as Record<string, unknown>;
      const payload = pkg.encrypted_payload as Record<string, unknown>;
      const expectations: Record<Exclude<Tamper, "html" | "not-json">, () => Promise<void>> = {
        "missing-tag": async () => {
          assert.equal("tag" in payload, false);
          await assert.rejects(
            openBytes({ ...pkg, encrypted_payload: { ...payload, tag: "" } }, keys.privateKey),
          );
        },
        downgrade: async () => {
          assert.equal(pkg.algorithm, "hybrid-aes128-rsa2048");
          // Only the label changed: the content still opens once the label is restored.
          const opened = await openJson(
            { ...pkg, algorithm: "hybrid-aes256-rsa4096" },
            keys.privateKey,
          );
          assert.equal(opened.object, "chat.completion");
        },
        "plaintext-not-json": async () => {
          const bytes = await openBytes(pkg, keys.privateKey);
          assert.throws(() => JSON.parse(new TextDecoder().decode(bytes)));
        },
        ciphertext: () => assert.rejects(openBytes(pkg, keys.privateKey)),
        tag: () => assert.rejects(openBytes(pkg, keys.privateKey)),
        nonce: () => assert.rejects(openBytes(pkg, keys.privateKey)),
        "wrapped-key": () => assert.rejects(openBytes(pkg, keys.privateKey)),
        "wrong-recipient": () => assert.rejects(openBytes(pkg, keys.privateKey)),
      };
      if (tamper !== "missing-tag") {
        // Well formed: only the cryptography can tell.
        assert.equal(b64len(payload.nonce), 12, tamper);
        assert.equal(b64len(payload.tag), 16, tamper);
        assert.equal(b64len(pkg.encrypted_aes_key), 256, tamper);
        assert.equal(typeof pkg.processed_at, "number", tamper);
      }
      await expectations[tamper]();
    }
    // Normal service afterwards.
    const { completion } = await chat(router.url, routerKey, keys, REQUEST);
    assert.equal(completion.object, "chat.completion");
    // A tamper fault on a refused request leaves the error answer as it is.
    router.inject({ tamper: "ciphertext" });
    const refused = await postCompletion(router.url, "{}", completionHeaders(keys));
    assert.equal(refused.status, 400);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() inject() tampers with the public key endpoint", async () => {
  const router = await startTestRouter();
  try {
    router.inject(
      { path: "public_key", tamper: "wrong-recipient" },
      { path: "public_key", tamper: "downgrade" },
      { path: "public_key", tamper: "html" },
      { path: "public_key", tamper: "not-json" },
    );
    const get = async () => {
      const r = await fetch(`${router.url}/pki/public_key`);
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
    };
    const substituted = await get();
    assert.notEqual(substituted.text, router.publicKeyPem);
    assert.equal(
      ((await importPem(substituted.text)).algorithm as RsaHashedKeyAlgorithm).modulusLength,
      2048,
    );
    const weak = await get();
    assert.equal(
      ((await importPem(weak.text)).algorithm as RsaHashedKeyAlgorithm).modulusLength,
      1024,
    );
    const html = await get();
    assert.equal(html.type, "text/html");
    const garbage = await get();
    assert.equal(garbage.status, 200);
    assert.doesNotMatch(garbage.text, /BEGIN PUBLIC KEY/);
    assert.equal((await get()).text, router.publicKeyPem);
    assert.equal(router.publicKeyFetches, 5);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() inject() delays answers; a delay ends when the caller or the router goes", async () => {
  const router = await startTestRouter();
  try {
    const routerKey = await fetchRouterKey(router.url);
    router.inject({ delayMs: 150 });
    const started = performance.now();
    const { completion } = await chat(router.url, routerKey, keys, REQUEST);
    assert.ok(performance.now() - started >= 140);
    assert.equal(completion.object, "chat.completion");

    // A caller that times out: the pending delay must not outlive it.
    router.inject({ delayMs: 60_000 });
    await assert.rejects(
      fetch(`${router.url}/v1/chat/secure_completion`, {
        method: "POST",
        headers: completionHeaders(keys),
        body: JSON.stringify(await seal(REQUEST, routerKey)),
        signal: AbortSignal.timeout(100),
      }),
    );
    // And one still waiting when the router closes.
    router.inject({ delayMs: 60_000, path: "public_key" });
    const pending = fetch(`${router.url}/pki/public_key`).then(
      (r) => r.text().then(() => "answered"),
      () => "failed",
    );
    while (router.publicKeyFetches < 2) await new Promise((r) => setTimeout(r, 5));
    const closing = performance.now();
    await router.close();
    assert.ok(performance.now() - closing < 2_000);
    assert.equal(await pending, "failed");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() rotateKey() makes packages sealed to the old key fail with a decrypt detail", async () => {
  const router = await startTestRouter();
  try {
    const oldKey = await fetchRouterKey(router.url);
    const oldFingerprint = router.fingerprint;
    const stale = JSON.stringify(await seal(REQUEST, oldKey));
    await router.rotateKey();
    assert.notEqual(router.fingerprint, oldFingerprint);
    const response = await postCompletion(router.url, stale, completionHeaders(keys));
    assert.equal(response.status, 400);
    assert.equal(
      detailOf(response.text),
      "Cannot decrypt payload: the router's public key has changed",
    );
    const newKey = await fetchRouterKey(router.url);
    const { completion } = await chat(router.url, newKey, keys, REQUEST);
    assert.equal(completion.object, "chat.completion");
    assert.equal(router.publicKeyPem, await (await fetch(`${router.url}/pki/public_key`)).text());
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() answers 413 over maxBodyBytes, 404 and 405 elsewhere, and records them", async () => {
  const router = await startTestRouter({ maxBodyBytes: 1024 });
  try {
    const big = await postCompletion(router.url, new Uint8Array(4096), completionHeaders(keys));
    assert.equal(big.status, 413);
    assert.match(detailOf(big.text), /1024/);
    const missing = await fetch(`${router.url}/v1/chat/completions`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const wrong = await fetch(`${router.url}/v1/chat/secure_completion`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    await wrong.body?.cancel();
    const wrongKey = await fetch(`${router.url}/pki/public_key?x=1`, { method: "POST" });
    assert.equal(wrongKey.status, 405);
    await wrongKey.body?.cancel();
    assert.deepEqual(
      router.requests.map((r) => [r.method, r.path, r.body.length]),
      [
        ["POST", "/v1/chat/secure_completion", 0],
        ["POST", "/v1/chat/completions", 2],
        ["GET", "/v1/chat/secure_completion", 0],
        ["POST", "/pki/public_key?x=1", 0],
      ],
    );
    assert.equal(router.publicKeyFetches, 0);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() close() is idempotent and stops serving", async () => {
  const router = await startTestRouter();
  const keep = await fetch(`${router.url}/pki/public_key`); // a keep-alive connection stays open
  await keep.text();
  const first = router.close();
  assert.equal(router.close(), first);
  await first;
  await router.close();
  await assert.rejects(fetch(`${router.url}/pki/public_key`));
});

Deno.test("startTestRouter() refuses bad options and bad faults with a TypeError", async () => {
  await assert.rejects(startTestRouter({ keySize: 1024 as 2048 }), TypeError);
  await assert.rejects(startTestRouter({ port: 70_000 }), TypeError);
  await assert.rejects(startTestRouter({ maxBodyBytes: 0 }), TypeError);
  await assert.rejects(startTestRouter({ apiKey: "a\r\nb" }), TypeError);
  await assert.rejects(
    startTestRouter({ answer: "abort" as unknown as () => unknown }),
    TypeError,
  );
  const router = await startTestRouter();
  try {
    assert.throws(() => router.inject({ status: 99 }), TypeError);
    assert.throws(() => router.inject({ times: 0 }), TypeError);
    assert.throws(() => router.inject({ delayMs: -1 }), TypeError);
    assert.throws(() => router.inject({ tamper: "everything" as Tamper }), TypeError);
    assert.throws(() => router.inject({ status: 429, retryAfter: "1\r\nX: y" }), TypeError);
    // A port in use is an error, not a hang.
    await assert.rejects(startTestRouter({ port: router.port }));
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() logs only when asked, and never headers or bodies", async () => {
  const lines: string[] = [];
  const router = await startTestRouter({ log: (line) => lines.push(line), apiKey: "sk-secret" });
  try {
    const routerKey = await fetchRouterKey(router.url);
    router.inject({ status: 500 });
    await postCompletion(
      router.url,
      JSON.stringify(await seal(REQUEST, routerKey)),
      completionHeaders(keys, { Authorization: "Bearer sk-secret" }),
    );
  } finally {
    await router.close();
  }
  assert.ok(lines.length >= 3);
  assert.ok(lines.some((l) => /^POST \/v1\/chat\/secure_completion -> 500/.test(l)));
  const all = lines.join("\n");
  assert.doesNotMatch(all, /sk-secret|Hello there|BEGIN PUBLIC KEY/);
});

Deno.test("testRouter() starts a router for a scope and closes it with the scope", async () => {
  const url = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const router = yield* testRouter({ keySize: 2048 });
    const response = yield* Effect.promise(() => fetch(`${router.url}/pki/public_key`));
    const pem = yield* Effect.promise(() => response.text());
    assert.equal(pem, router.publicKeyPem);
    return router.url;
  })));
  await assert.rejects(fetch(`${url}/pki/public_key`));
});

Deno.test(
  "the router seals each answer to the key of its own request, callers interleaved past the keys it keeps imported",
  async () => {
    const router = await startTestRouter();
    try {
      const routerKey = await fetchRouterKey(router.url);
      // 18 distinct callers (the router keeps the last 16 imported), then the first again:
      // every answer must open with its own caller's key, and with no other caller's.
      const callers = [
        keys,
        ...(await Promise.all(Array.from({ length: 17 }, () => generateClientKeys(1024 + 1024)))),
      ];
      for (const caller of [...callers, callers[0]!, callers[17]!, callers[0]!]) {
        const { completion } = await chat(router.url, routerKey, caller, REQUEST);
        assert.equal(completion.object, "chat.completion");
      }
      const headers = completionHeaders(callers[1]!);
      const response = await postCompletion(
        router.url,
        JSON.stringify(await seal(REQUEST, routerKey)),
        headers,
      );
      assert.equal(response.status, 200);
      await assert.rejects(openJson(JSON.parse(response.text), callers[2]!.privateKey));
      const refused = { ...completionHeaders(keys), "X-Public-Key": "%E0%A4%A" };
      for (let i = 0; i < 2; i++) {
        const bad = await postCompletion(router.url, JSON.stringify({}), refused);
        assert.equal(bad.status, 400);
        assert.match(detailOf(bad.text), /not percent-encoded/);
      }
    } finally {
      await router.close();
    }
  },
);
