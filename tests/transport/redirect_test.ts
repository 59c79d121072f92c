/**
 * Redirects are refused on both endpoints, for every 3xx, whatever the fetch: nothing reaches
 * the `Location`, the error is a `SecurityError` (`RedirectRefused`) naming the status, never
 * the `Location`, and it is not retried. The "other origin" is a real test router on another
 * port, so a followed redirect would have worked.
 */
import assert from "node:assert/strict";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import * as HttpClient from "@effect/platform/HttpClient";
import { Effect, Layer } from "effect";
import { nomyoLayer } from "../../src/client/layer.ts";
import type { ClientOptions } from "../../src/client/options.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { SecurityError } from "../../src/errors.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";
import { redirect, startHostileServer } from "./_hostile_server.ts";

const KEY_PATH = "/pki/public_key";
const COMPLETION_PATH = "/v1/chat/secure_completion";
const STATUSES = [301, 302, 303, 307, 308] as const;
const ask = { model: "m", messages: [{ role: "user", content: "secret prompt" }] };

/** Where the hostile router sends the client: another origin, scheme-relative, plain http. */
const locations = (other: TestRouter, path: string) => [
  `${other.url}${path}`,
  `//127.0.0.1:${other.port}${path}`,
  `http://localhost:${other.port}${path}`,
];

/**
 * A hostile router that redirects `endpoint` with `status` to `location`, and serves the other
 * router's own key on the key endpoint otherwise (so a followed completion redirect would open).
 */
const hostile = (other: TestRouter) => {
  const plan = { endpoint: KEY_PATH, status: 302, location: "" };
  const server = startHostileServer((req) =>
    req.path === plan.endpoint
      ? redirect(plan.status, plan.location)
      : req.path === KEY_PATH
      ? new Response(other.publicKeyPem)
      : new Response("nope", { status: 404 })
  );
  return server.then((s) => ({ server: s, plan }));
};

const assertRefused = (error: unknown, what: RegExp, hidden: string[]) => {
  assert.ok(error instanceof SecurityError, `SecurityError, got ${String(error)}`);
  assert.equal(error.reason, "RedirectRefused");
  assert.match(error.message, what);
  assert.match(error.message, /^Cannot use router answer: .*redirects are refused$/);
  for (const h of hidden) assert.ok(!error.message.includes(h), `Location leaked: ${h}`);
};

const runMatrix = async (label: string, options: Partial<ClientOptions>) => {
  const other = await startTestRouter();
  const { server, plan } = await hostile(other);
  const client = new SecureChatCompletion({
    baseUrl: server.url,
    allowHttp: true,
    apiKey: "sk-redirect-test",
    keySize: 2048,
    maxRetries: 2,
    ...options,
  });
  try {
    for (const endpoint of [KEY_PATH, COMPLETION_PATH]) {
      for (const status of STATUSES) {
        for (const location of locations(other, endpoint)) {
          Object.assign(plan, { endpoint, status, location });
          const before = server.requests.length;
          const error = await client.create(ask).then(() => "SUCCESS", (e) => e);
          const where = `${label} ${status} on ${endpoint} to ${location}`;
          assertRefused(error, new RegExp(`answered ${status}, a redirect`), [
            location,
            String(other.port),
          ]);
          assert.equal(
            server.requests.slice(before).filter((r) => r.path === endpoint).length,
            1,
            `${where}: asked once, not retried`,
          );
        }
      }
    }
    assert.equal(other.requests.length, 0, `${label}: the other origin received nothing`);
  } finally {
    await client.dispose();
    await server.close();
    await other.close();
  }
};

Deno.test("every 3xx on both endpoints is refused with the default fetch; nothing reaches the Location", async () => {
  await runMatrix("default fetch", {});
});

Deno.test("every 3xx is refused with a caller's fetch; nothing reaches the Location", async () => {
  let calls = 0;
  const fetch: typeof globalThis.fetch = (input, init) => {
    calls++;
    return globalThis.fetch(input, init);
  };
  await runMatrix("caller's fetch", { fetch });
  assert.ok(calls > 0, "the caller's fetch was used");
});

Deno.test("a caller's fetch that follows redirects anyway: its answer is refused", async () => {
  const other = await startTestRouter();
  const { server, plan } = await hostile(other);
  const following: typeof globalThis.fetch = (input, init) =>
    globalThis.fetch(input, { ...init, redirect: "follow" });
  const client = new SecureChatCompletion({
    baseUrl: server.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 2,
    fetch: following,
  });
  try {
    for (const endpoint of [KEY_PATH, COMPLETION_PATH]) {
      for (const status of [302, 307, 308]) {
        Object.assign(plan, { endpoint, status, location: `${other.url}${endpoint}` });
        const error = await client.create(ask).then(() => "SUCCESS", (e) => e);
        assertRefused(error, /the fetch followed a redirect/, [String(other.port)]);
      }
    }
    // This fetch did send to the other origin (documented): only its answers were refused.
    assert.ok(other.requests.length > 0);
  } finally {
    await client.dispose();
    await server.close();
    await other.close();
  }
});

Deno.test("nomyoLayer on the caller's own HttpClient refuses redirects too", async () => {
  const other = await startTestRouter();
  const { server, plan } = await hostile(other);
  const run = (http: Layer.Layer<HttpClient.HttpClient>) =>
    Effect.runPromise(
      Effect.flatMap(SecureCompletion, (s) => s.create(ask)).pipe(
        Effect.flip,
        Effect.provide(
          nomyoLayer({
            baseUrl: server.url,
            allowHttp: true,
            keySize: 2048,
            maxRetries: 1,
            keyRotationInterval: 0,
          }).pipe(Layer.provide(http)),
        ),
      ),
    );
  try {
    for (const endpoint of [KEY_PATH, COMPLETION_PATH]) {
      Object.assign(plan, { endpoint, status: 307, location: `${other.url}${endpoint}` });
      // FetchHttpClient as is: the transport asks fetch for redirect: "manual".
      assertRefused(await run(FetchHttpClient.layer), /answered 307, a redirect/, [
        String(other.port),
      ]);
      assert.equal(other.requests.length, 0, "the other origin received nothing");
    }
    // A client that follows redirects itself: the answer to another URL is refused.
    const following = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.followRedirects(5)),
    ).pipe(Layer.provide(FetchHttpClient.layer));
    Object.assign(plan, { endpoint: KEY_PATH, status: 302, location: `${other.url}${KEY_PATH}` });
    assertRefused(await run(following), /the HTTP client followed a redirect/, [
      String(other.port),
    ]);
  } finally {
    await server.close();
    await other.close();
  }
});

/** A browser's answer to a redirect under `redirect: "manual"`: status 0, type opaqueredirect. */
class OpaqueRedirect extends Response {
  override get status(): number {
    return 0;
  }
  override get type(): ResponseType {
    return "opaqueredirect";
  }
}

Deno.test("a browser's opaque redirect is refused, and fetch was asked for redirect: manual", async () => {
  const asked: (RequestRedirect | undefined)[] = [];
  const fetch: typeof globalThis.fetch = (_input, init) => {
    asked.push(init?.redirect);
    return Promise.resolve(new OpaqueRedirect(null));
  };
  const client = new SecureChatCompletion({
    baseUrl: "https://router.invalid",
    keySize: 2048,
    maxRetries: 2,
    fetch,
  });
  try {
    const error = await client.create(ask).then(() => "SUCCESS", (e) => e);
    assertRefused(error, /opaque/, []);
    assert.deepEqual(asked, ["manual"], "asked once, manual, not retried");
  } finally {
    await client.dispose();
  }
});
