/**
 * Browser-aware connection errors, with a fake fetch and a fake browser global: a fetch
 * TypeError in a page says CORS may be the cause and what the router must allow, and is not
 * retried; mixed content is refused before anything is sent; no User-Agent in a page.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { APIConnectionError } from "../../src/errors.ts";
import { isRetryable } from "../../src/transport/status_errors.ts";
import { vectorText } from "../_helpers.ts";

const ROUTER_PEM = await vectorText("protocol/server_public_key.pem");
const ask = { model: "m", messages: [{ role: "user", content: "hi" }] };

/** Runs `body` with `document` and `location` globals as a page at `origin` has them. */
const inPage = async (origin: string, body: () => Promise<void>) => {
  const g = globalThis as Record<string, unknown>;
  const saved = {
    document: Object.getOwnPropertyDescriptor(globalThis, "document"),
    location: Object.getOwnPropertyDescriptor(globalThis, "location"),
  };
  const url = new URL(origin);
  Object.defineProperty(globalThis, "document", { value: {}, configurable: true });
  Object.defineProperty(globalThis, "location", {
    value: { protocol: url.protocol, origin: url.origin },
    configurable: true,
  });
  try {
    await body();
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor === undefined) delete g[name];
      else Object.defineProperty(globalThis, name, descriptor);
    }
  }
};

interface Call {
  readonly path: string;
  readonly headers: Headers;
}

/** A fetch that serves the key, and fails with a TypeError where `fails` says (as CORS does). */
const fakeFetch =
  (calls: Call[], fails: "key" | "completion") =>
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
    calls.push({ path, headers: new Headers(init?.headers) });
    if (path === "/pki/public_key" && fails !== "key") {
      return Promise.resolve(new Response(ROUTER_PEM));
    }
    return Promise.reject(new TypeError("Failed to fetch"));
  };

const clientOf = (baseUrl: string, fetch: typeof globalThis.fetch) =>
  new SecureChatCompletion({
    baseUrl,
    allowHttp: baseUrl.startsWith("http:"),
    apiKey: "sk-browser",
    keySize: 2048,
    maxRetries: 2,
    fetch,
  });

for (const fails of ["key", "completion"] as const) {
  Deno.test(`in a page, a fetch TypeError on the ${fails} endpoint names CORS and is not retried`, async () => {
    await inPage("https://app.example", async () => {
      const calls: Call[] = [];
      const client = clientOf("https://router.example", fakeFetch(calls, fails));
      try {
        const e = await client.create(ask).then(() => "SUCCESS", (x) => x);
        assert.ok(e instanceof APIConnectionError, String(e));
        assert.match(e.message, /CORS/);
        assert.match(e.message, /https:\/\/app\.example/);
        assert.match(
          e.message,
          /Content-Type, X-Payload-ID, X-Public-Key, Authorization, X-Security-Tier/,
        );
        assert.match(e.message, /GET \/pki\/public_key and POST \/v1\/chat\/secure_completion/);
        assert.match(e.message, /^Cannot reach router: /);
        assert.equal(e.retryable, false);
        assert.equal(isRetryable(e), false);
        const failing = fails === "key" ? "/pki/public_key" : "/v1/chat/secure_completion";
        assert.equal(calls.filter((c) => c.path === failing).length, 1, "asked once");
        for (const call of calls) {
          assert.equal(call.headers.has("user-agent"), false, `no User-Agent on ${call.path}`);
        }
      } finally {
        await client.dispose();
      }
    });
  });
}

Deno.test("an https: page calling an http: router is refused before anything is sent", async () => {
  await inPage("https://app.example", async () => {
    const calls: Call[] = [];
    const client = clientOf("http://router.example:8080", fakeFetch(calls, "completion"));
    try {
      const e = await client.create(ask).then(() => "SUCCESS", (x) => x);
      assert.ok(e instanceof APIConnectionError, String(e));
      assert.match(e.message, /mixed content/);
      assert.equal(e.retryable, false);
      assert.equal(calls.length, 0, "nothing sent");
    } finally {
      await client.dispose();
    }
  });
});

Deno.test("loopback routers are not mixed content (browsers allow them), http: pages neither", async () => {
  for (
    const [page, baseUrl] of [
      ["https://app.example", "http://127.0.0.1:8080"],
      ["https://app.example", "http://localhost:8080"],
      ["http://app.example", "http://router.example"],
    ]
  ) {
    await inPage(page!, async () => {
      const calls: Call[] = [];
      const client = clientOf(baseUrl!, fakeFetch(calls, "completion"));
      try {
        const e = await client.create(ask).then(() => "SUCCESS", (x) => x);
        assert.ok(e instanceof APIConnectionError);
        assert.match(e.message, /CORS/, `${page} → ${baseUrl}`);
        assert.ok(calls.length > 0, "sent");
      } finally {
        await client.dispose();
      }
    });
  }
});

Deno.test("outside a browser, a fetch TypeError is a plain, retryable connection error with User-Agent", async () => {
  const calls: Call[] = [];
  const client = new SecureChatCompletion({
    baseUrl: "https://router.example",
    keySize: 2048,
    maxRetries: 0,
    fetch: fakeFetch(calls, "completion"),
  });
  try {
    const e = await client.create(ask).then(() => "SUCCESS", (x) => x);
    assert.ok(e instanceof APIConnectionError);
    assert.doesNotMatch(e.message, /CORS/);
    assert.equal(e.retryable, true);
    assert.equal(isRetryable(e), true);
    assert.ok(calls.every((c) => c.headers.get("user-agent")?.startsWith("nomyo-client-ts/")));
  } finally {
    await client.dispose();
  }
});
