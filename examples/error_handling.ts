/**
 * Error handling with `instanceof`: every error is a `NomyoError`; HTTP errors are `APIError`s
 * with `status`, `body` and `retryAfter`.
 *
 *   npx --yes deno@2 run --allow-net=127.0.0.1 --allow-read --allow-env examples/error_handling.ts
 */
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  NomyoError,
  RateLimitError,
  SecureChatCompletion,
  SecurityError,
} from "../mod.ts";
import { startTestRouter } from "../src/testing/mod.ts";

const router = await startTestRouter({ apiKey: "right-key" });
const ask = { model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content: "hi" }] };
const describe = (e: unknown): string => {
  if (e instanceof AuthenticationError) return `authentication failed (${e.status})`;
  if (e instanceof RateLimitError) return `rate limited; retry after ${e.retryAfter} s`;
  if (e instanceof APIError) return `router error ${e.status}: ${e.message}`;
  if (e instanceof APIConnectionError) return `connection problem (timeout: ${e.timeout})`;
  if (e instanceof SecurityError) return `refused for security (${e.reason}): ${e.message}`;
  if (e instanceof NomyoError) return `other library error: ${e.message}`;
  return `not ours: ${e}`;
};
try {
  await using client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    apiKey: "right-key",
    maxRetries: 0,
  });
  const attempts: [string, () => Promise<unknown>][] = [
    ["wrong API key", () => client.create({ ...ask, api_key: "wrong-key" })],
    ["rate limited", () => {
      router.inject({ status: 429, detail: "slow down", retryAfter: "30" });
      return client.create(ask);
    }],
    ["tampered answer", () => {
      router.inject({ tamper: "tag" });
      return client.create(ask);
    }],
    ["header injection", () => client.create({ ...ask, api_key: "key\r\nX-Evil: 1" })],
    ["all good", () => client.create(ask)],
  ];
  for (const [what, run] of attempts) {
    const outcome = await run().then(() => "ok", describe);
    console.log(`${what.padEnd(18)} → ${outcome}`);
  }
} finally {
  await router.close();
}
