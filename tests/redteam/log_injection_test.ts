/**
 * A hostile router's error `detail` with a newline and a fake log line, ANSI escapes and a
 * bidirectional override: the error message and the debug log show them escaped, so no log
 * line is forged and no terminal recoloured.
 */
import assert from "node:assert/strict";
import { APIError, SecureChatCompletion } from "../../mod.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

Deno.test("a router's error detail cannot forge a log line or reach the terminal raw", async () => {
  const router = await startTestRouter();
  const detail =
    'bad\ntimestamp=2026 level=ERROR message="FORGED"\u001b[31mRED\u001b[0m\u202Eevil\u0085';
  router.inject({ status: 400, detail });
  const captured: string[] = [];
  const original = { ...console };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) => captured.push(args.map(String).join(" "));
  }
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
    debug: true,
  });
  try {
    const error = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof APIError && error.status === 400, String(error));
    assert.match(error.message, /bad\\u000atimestamp=2026 level=ERROR/);
    assert.match(error.message, /\\u001b\[31mRED\\u001b\[0m\\u202eevil\\u0085$/);
    const logged = captured.join("\n");
    assert.ok(/attempt \d+ failed/.test(logged), "debug lines were captured");
    for (const text of [error.message, logged]) {
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(text), "a raw control");
    }
    assert.ok(
      !captured.some((line) => line.split("\n").some((l) => l.startsWith("timestamp=2026 "))),
    );
  } finally {
    Object.assign(console, original);
    await client.dispose();
    await router.close();
  }
});
