/**
 * Bun: one end-to-end encrypted chat completion, TypeScript run from the sources.
 *
 *   npx --yes deno@2 install        # once: puts effect and @effect/platform in node_modules/
 *   npx --yes bun@1 examples/bun.ts
 *
 * With no NOMYO_BASE_URL set, it starts the test router on 127.0.0.1 and talks to it; with
 * NOMYO_BASE_URL (and NOMYO_API_KEY) set, it talks to that router. On Bun the client makes its
 * RSA key pairs in a Worker, since Bun's own key generation blocks the event loop.
 *
 * With the package from JSR (`bunx jsr add @nomyo/client`), the imports are
 * `import { SecureChatCompletion } from "@nomyo/client";` and `"@nomyo/client/testing"`.
 */
import process from "node:process";
import { NomyoError, SecureChatCompletion } from "../mod.ts";
import { startTestRouter, type TestRouter } from "../src/testing/mod.ts";

const runtime = (globalThis as { Bun?: { version: string } }).Bun?.version;
let router: TestRouter | undefined;
let baseUrl = process.env.NOMYO_BASE_URL;
let apiKey = process.env.NOMYO_API_KEY;
if (!baseUrl) {
  router = await startTestRouter({ apiKey: "bun-example-key" });
  baseUrl = router.url;
  apiKey = "bun-example-key";
  console.log(`No NOMYO_BASE_URL set: test router on ${baseUrl}`);
}

try {
  await using client = new SecureChatCompletion({
    baseUrl,
    allowHttp: router !== undefined,
    ...(apiKey === undefined ? {} : { apiKey }),
  });
  const prompt = `Hello from Bun ${runtime ?? "(not Bun)"}`;
  const answer = await client.create({
    model: process.env.NOMYO_MODEL ?? "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: prompt }],
  });
  const content = answer.choices[0]?.message.content;
  console.log(`Answer: ${content}`);
  console.log(
    `payload ${answer._metadata?.payload_id}, encrypted: ${answer._metadata?.is_encrypted}`,
  );
  if (router !== undefined && content !== `Echo: ${prompt}`) {
    throw new Error(`the test router answered ${JSON.stringify(content)}`);
  }
} catch (error) {
  // Every library error is a NomyoError with a name (AuthenticationError, RateLimitError, …).
  console.error(error instanceof NomyoError ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await router?.close();
}
