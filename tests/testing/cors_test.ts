import assert from "node:assert/strict";
import { startTestRouter } from "../../src/testing/router.ts";
import { PROTOCOL_REQUEST_HEADERS } from "../../src/protocol/headers.ts";
import { chat, completionHeaders, fetchRouterKey, generateClientKeys } from "./_plain_client.ts";

const PAGE = "http://127.0.0.1:5173";
const REQUEST = { model: "echo-1", messages: [{ role: "user", content: "Hello from a page" }] };
const keys = await generateClientKeys();

/** What a browser sends before a cross-origin POST with the protocol's headers. */
const preflight = async (
  url: string,
  path: string,
  origin: string,
  method = "POST",
  extra: Record<string, string> = {},
): Promise<Response> => {
  const response = await fetch(`${url}${path}`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": method,
      "Access-Control-Request-Headers": "content-type,x-payload-id,x-public-key,authorization",
      ...extra,
    },
  });
  await response.body?.cancel();
  return response;
};

const corsHeaders = (response: Response): Record<string, string> =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-")));

Deno.test("startTestRouter() sends no CORS header and answers OPTIONS 405 by default", async () => {
  const router = await startTestRouter();
  try {
    const pre = await preflight(router.url, "/v1/chat/secure_completion", PAGE);
    assert.equal(pre.status, 405);
    assert.deepEqual(corsHeaders(pre), {});
    const key = await fetch(`${router.url}/pki/public_key`, { headers: { Origin: PAGE } });
    await key.text();
    assert.equal(key.status, 200);
    assert.deepEqual(corsHeaders(key), {});
    assert.equal(key.headers.get("vary"), null);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter({ cors: true }) answers preflights of both endpoints with the protocol's headers", async () => {
  const router = await startTestRouter({ cors: true });
  try {
    router.inject({ status: 429, retryAfter: "1" }); // a preflight must not take it
    for (
      const [path, method] of [["/v1/chat/secure_completion", "POST"], ["/pki/public_key", "GET"]]
    ) {
      const pre = await preflight(router.url, path!, PAGE, method);
      assert.equal(pre.status, 204, path);
      assert.equal(pre.headers.get("content-type"), null);
      assert.equal(pre.headers.get("content-length"), null);
      assert.deepEqual(corsHeaders(pre), {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": method,
        "access-control-allow-headers":
          "Content-Type, X-Payload-ID, X-Public-Key, Authorization, X-Security-Tier",
        "access-control-max-age": "600",
        "access-control-expose-headers": "Retry-After, WWW-Authenticate",
      });
    }
    assert.deepEqual(PROTOCOL_REQUEST_HEADERS.split(", "), [
      "Content-Type",
      "X-Payload-ID",
      "X-Public-Key",
      "Authorization",
      "X-Security-Tier",
    ]);
    assert.deepEqual(router.requests.map((r) => r.method), ["OPTIONS", "OPTIONS"]);
    assert.equal(router.publicKeyFetches, 0);
    // The fault is still queued: the first real completion gets it.
    const routerKey = await fetchRouterKey(router.url);
    const limited = await fetch(`${router.url}/v1/chat/secure_completion`, {
      method: "POST",
      headers: { ...completionHeaders(keys), Origin: PAGE },
      body: "{}",
    });
    await limited.text();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("access-control-allow-origin"), "*");
    assert.equal(limited.headers.get("retry-after"), "1");
    assert.match(limited.headers.get("access-control-expose-headers") ?? "", /Retry-After/);
    const { response } = await chat(router.url, routerKey, keys, REQUEST, { Origin: PAGE });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter({ cors: true }) puts Access-Control-Allow-Origin on every error", async () => {
  const router = await startTestRouter({ cors: true, apiKey: "sk-test", maxBodyBytes: 64 });
  try {
    const answers = [
      // 401: no API key
      await fetch(`${router.url}/v1/chat/secure_completion`, { method: "POST", body: "{}" }),
      // 413
      await fetch(`${router.url}/v1/chat/secure_completion`, {
        method: "POST",
        body: new Uint8Array(100),
      }),
      // 404, 405, and OPTIONS without Access-Control-Request-Method (not a preflight): 405
      await fetch(`${router.url}/v1/chat/completions`, { method: "POST", body: "{}" }),
      await fetch(`${router.url}/pki/public_key`, { method: "POST" }),
      await fetch(`${router.url}/pki/public_key`, { method: "OPTIONS" }),
    ];
    assert.deepEqual(answers.map((a) => a.status), [401, 413, 404, 405, 405]);
    for (const answer of answers) {
      await answer.body?.cancel();
      assert.equal(answer.headers.get("access-control-allow-origin"), "*", String(answer.status));
    }
    // 400 with the API key
    const bad = await fetch(`${router.url}/v1/chat/secure_completion`, {
      method: "POST",
      headers: { Authorization: "Bearer sk-test", "Content-Type": "text/plain" },
      body: "{}",
    });
    await bad.body?.cancel();
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("access-control-allow-origin"), "*");
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter({ cors: [origins] }) allows exactly those origins", async () => {
  const other = "http://127.0.0.1:8000";
  const router = await startTestRouter({ cors: [PAGE, "https://app.example"] });
  try {
    const allowed = await preflight(router.url, "/pki/public_key", "https://app.example", "GET");
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(allowed.headers.get("vary"), "Origin");

    const refused = await preflight(router.url, "/v1/chat/secure_completion", other);
    assert.equal(refused.status, 403);
    assert.deepEqual(corsHeaders(refused), {});
    assert.equal(refused.headers.get("vary"), "Origin");

    for (const [origin, expected] of [[PAGE, PAGE], [other, null], [undefined, null]] as const) {
      const key = await fetch(`${router.url}/pki/public_key`, {
        headers: origin === undefined ? {} : { Origin: origin },
      });
      await key.text();
      assert.equal(key.status, 200);
      assert.equal(key.headers.get("access-control-allow-origin"), expected, String(origin));
      assert.equal(key.headers.get("vary"), "Origin");
    }
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter({ cors }) allows private network access when a preflight asks", async () => {
  const router = await startTestRouter({ cors: true });
  try {
    const asked = await preflight(router.url, "/pki/public_key", "https://app.example", "GET", {
      "Access-Control-Request-Private-Network": "true",
    });
    assert.equal(asked.headers.get("access-control-allow-private-network"), "true");
    const notAsked = await preflight(router.url, "/pki/public_key", PAGE, "GET");
    assert.equal(notAsked.headers.get("access-control-allow-private-network"), null);
  } finally {
    await router.close();
  }
});

Deno.test("startTestRouter() refuses a bad cors option with a TypeError", async () => {
  for (
    const cors of [
      [],
      ["*"],
      ["https://app.example/"],
      ["https://app.example/path"],
      ["app.example"],
      ["ftp://app.example"],
      [PAGE, 8080],
      "yes",
      1,
    ]
  ) {
    await assert.rejects(
      startTestRouter({ cors: cors as string[] }),
      (e: unknown) => e instanceof TypeError && /^Cannot start test router: cors/.test(e.message),
      JSON.stringify(cors),
    );
  }
});
