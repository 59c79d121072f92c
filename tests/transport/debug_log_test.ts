/**
 * Debug lines of expected failures read like the rest: what happened and the payload id, never
 * "Fiber terminated with an unhandled error" and never a stack.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { APIConnectionError, ServiceUnavailableError } from "../../src/errors.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { captureConsole } from "../_helpers.ts";

/** Runs `body` with console output captured. */
const capture = (body: () => Promise<void>): Promise<string[]> =>
  captureConsole(["log", "info", "warn", "error", "debug", "trace"], body);

const ask = { model: "m", messages: [{ role: "user", content: "hi" }] };

const assertPlain = (lines: string[]) => {
  const text = lines.join("\n");
  assert.doesNotMatch(text, /Fiber terminated/);
  assert.doesNotMatch(text, /^\s+at /m, "no stack");
  assert.doesNotMatch(text, /\.ts:\d+:\d+/, "no source positions");
};

Deno.test("debug: a refused connection logs what happened with the payload id, no stack", async () => {
  const closed = await startTestRouter();
  const url = closed.url;
  await closed.close();
  let error: unknown;
  const lines = await capture(async () => {
    const client = new SecureChatCompletion({
      baseUrl: url,
      allowHttp: true,
      keySize: 2048,
      maxRetries: 0,
      debug: true,
    });
    error = await client.create(ask, {}).then(() => "SUCCESS", (e) => e);
    await client.dispose();
  });
  assert.ok(error instanceof APIConnectionError);
  assertPlain(lines);
  const line = lines.find((l) =>
    /router key fetch failed: APIConnectionError: Cannot reach/.test(l)
  );
  assert.ok(line !== undefined, `a debug line for the failure in:\n${lines.join("\n")}`);
  assert.match(line, /payload_id=[0-9a-f-]{36}/);
});

Deno.test("debug: a failed send logs the attempt with the payload id, no stack", async () => {
  const router = await startTestRouter();
  let error: unknown;
  const lines = await capture(async () => {
    const client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      keySize: 2048,
      maxRetries: 0,
      debug: true,
    });
    router.inject({ status: 503, detail: "down" });
    error = await client.create(ask, {}).then(() => "SUCCESS", (e) => e);
    await client.dispose();
  });
  await router.close();
  assert.ok(error instanceof ServiceUnavailableError);
  assertPlain(lines);
  const line = lines.find((l) => /attempt \d+ failed: ServiceUnavailableError/.test(l));
  assert.ok(line !== undefined, lines.join("\n"));
  assert.match(line, /payload_id=[0-9a-f-]{36}/);
});
