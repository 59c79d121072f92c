/**
 * No secret leaks: every failure path runs with canary values (API key, a plaintext sentence,
 * a key password, private key bytes) and `debug: true`; none of them may appear in any error's
 * message, stack, cause, JSON or inspect output, or in anything written to the console.
 */
import assert from "node:assert/strict";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SecureChatCompletion } from "../../src/client/secure_chat_completion.ts";
import { SecureCompletionClient } from "../../src/client/secure_completion_client.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { TAMPERS } from "../../src/testing/faults.ts";

const API_KEY = "sk-canary-APIKEY-7f3a9b1c2d4e";
const PLAINTEXT = "CANARY-PLAINTEXT Jane Roe, diagnosis Z99.89, MRN 0042-7731";
const PASSWORD = "canary-password-Q8x7w6v5";

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
      debug: true,
    });
    // 401, then every status with a body, then tampered answers (right key per request).
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
      debug: true,
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
      debug: true,
    });
    await collect(dead.create(ask));
    await dead.dispose();

    // Redirects (with the canaries in the Location), on both endpoints, followed or not.
    for (const endpoint of ["/pki/public_key", "/v1/chat/secure_completion"]) {
      const redirecting = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        (req) =>
          new URL(req.url).pathname === endpoint
            ? new Response(null, {
              status: 307,
              headers: { location: `${router.url}/${encodeURIComponent(API_KEY + PLAINTEXT)}` },
            })
            : new Response(router.publicKeyPem),
      );
      for (
        const fetch of [
          undefined,
          (i: RequestInfo | URL, init?: RequestInit) =>
            globalThis.fetch(i, { ...init, redirect: "follow" }),
        ]
      ) {
        const redirected = new SecureChatCompletion({
          baseUrl: `http://127.0.0.1:${redirecting.addr.port}`,
          allowHttp: true,
          apiKey: API_KEY,
          keySize: 2048,
          maxRetries: 1,
          debug: true,
          ...(fetch === undefined ? {} : { fetch }),
        });
        await collect(redirected.create(ask));
        await redirected.dispose();
      }
      await redirecting.shutdown();
    }

    // Key files: wrong password, world-readable, mismatched public key, garbage to decrypt.
    const keys = new SecureCompletionClient({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: API_KEY,
      keySize: 2048,
      debug: true,
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
  } finally {
    Object.assign(console, original);
    await router.close();
    await Deno.remove(dir, { recursive: true });
  }

  assert.ok(errors.length >= 39, `ran ${errors.length} failure paths`);
  assert.equal(
    errors.filter((e) => e instanceof Error && /redirect/.test(e.message)).length,
    4,
    "the four redirect paths failed as redirects",
  );
  assert.ok(!errors.includes("UNEXPECTED SUCCESS"), "every path failed as intended");
  assert.ok(captured.some((line) => /attempt failed/.test(line)), "debug logging was captured");
  assert.equal(privateKeyLines.length, 6);
  const canaries = [API_KEY, PLAINTEXT, "Jane Roe", "Z99.89", PASSWORD, ...privateKeyLines];
  const texts = [...errors.flatMap((e) => renderings(e)), ...captured];
  for (const canary of canaries) {
    const hit = texts.find((t) => t.includes(canary));
    assert.equal(hit, undefined, `canary ${canary.slice(0, 12)}… leaked in: ${hit?.slice(0, 300)}`);
  }
});
