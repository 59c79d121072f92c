/**
 * A hostile router echoes the request's API key back in its error answer: raw in `detail`,
 * JSON-escaped so that only the parsed value holds it, as an object key, and in headers
 * (`x-request-id`, `retry-after`). The key must reach no error, no debug line and no answer
 * that `client.fetch` gives an SDK.
 */
import assert from "node:assert/strict";
import { APIError, SecureChatCompletion } from "../../mod.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

const API_KEY = "sk-echo-CANARY-5e1f0a9b";

/** JSON text of `s` with every character `\u`-escaped: the raw body never holds `s`. */
const escaped = (s: string): string =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

Deno.test("an API key echoed by a hostile router reaches no error, log or client.fetch answer", async () => {
  const router = await startTestRouter();
  const hostile = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname === "/pki/public_key") return new Response(router.publicKeyPem);
    const auth = req.headers.get("authorization") ?? "";
    const key = auth.replace(/^Bearer /, "");
    const body = `{"detail":"bad key ${auth}","error":{"message":"${escaped(key)}"},` +
      `"${key}":[${JSON.stringify(auth)}]}`;
    return new Response(body, {
      status: 400,
      headers: { "content-type": "application/json", "x-request-id": key, "retry-after": auth },
    });
  });
  const captured: string[] = [];
  const original = { ...console };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) =>
      captured.push(args.map((a) => Deno.inspect(a)).join(" "));
  }
  const client = new SecureChatCompletion({
    baseUrl: `http://127.0.0.1:${hostile.addr.port}`,
    allowHttp: true,
    apiKey: API_KEY,
    keySize: 2048,
    maxRetries: 0,
    debug: true,
  });
  const keyless = new SecureChatCompletion({
    baseUrl: `http://127.0.0.1:${hostile.addr.port}`,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
    debug: true,
  });
  const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };
  try {
    const error = await client.create(ask).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof APIError && error.status === 400, String(error));
    assert.match(error.message, /bad key Bearer \[redacted\]/);
    const answer = await client.fetch("http://sdk.invalid/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify(ask),
    });
    assert.equal(answer.status, 400);
    // A client without a key of its own sends the SDK's: that one is scrubbed too.
    const answerSdkKey = await keyless.fetch("http://sdk.invalid/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(ask),
    });
    assert.equal(answerSdkKey.status, 400);
    const texts = [
      error.message,
      Deno.inspect(error, { depth: 20, showHidden: true }),
      JSON.stringify(error),
      JSON.stringify(error.body),
      JSON.stringify(error.headers),
      String(error.requestID),
      await answer.text(),
      await answerSdkKey.text(),
      JSON.stringify([...answer.headers]),
      ...captured,
    ];
    const hit = texts.find((t) => t.includes(API_KEY));
    assert.equal(hit, undefined, `the echoed key leaked in: ${hit?.slice(0, 200)}`);
    assert.ok(
      captured.some((line) => /attempt \d+ failed/.test(line)),
      "debug lines were captured",
    );
  } finally {
    Object.assign(console, original);
    await client.dispose();
    await keyless.dispose();
    await hostile.shutdown();
    await router.close();
  }
});
