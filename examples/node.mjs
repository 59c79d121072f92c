/**
 * Node.js (20 and later), plain JavaScript, from the bundled module: one end-to-end encrypted
 * chat completion.
 *
 *   npx --yes deno@2 bundle --platform browser -o dist/nomyo.mjs mod.ts
 *   npx --yes deno@2 bundle --platform browser -o dist/testing.mjs src/testing/mod.ts
 *   node examples/node.mjs                  # Node 20
 *   npx --yes node@24 examples/node.mjs     # Node 24
 *
 * With no NOMYO_BASE_URL set, it starts the test router (dist/testing.mjs) on 127.0.0.1 and
 * talks to it; with NOMYO_BASE_URL (and NOMYO_API_KEY) set, it talks to that router.
 * NOMYO_DIST names another folder holding the two bundles.
 *
 * With the package from JSR (`npx jsr add @nomyo/client`), the import is simply
 * `import { SecureChatCompletion } from "@nomyo/client";`.
 */
import process from "node:process";
import { pathToFileURL } from "node:url";

const dist = process.env.NOMYO_DIST
  ? pathToFileURL(`${process.env.NOMYO_DIST.replace(/\/+$/, "")}/`)
  : new URL("../dist/", import.meta.url);

const load = async (file) => {
  try {
    return await import(new URL(file, dist).href);
  } catch (error) {
    console.error(
      `Cannot load ${
        new URL(file, dist).pathname
      }: build the bundles first (see the top of this file)`,
    );
    throw error;
  }
};

const { SecureChatCompletion, NomyoError } = await load("nomyo.mjs");

let router;
let baseUrl = process.env.NOMYO_BASE_URL;
let apiKey = process.env.NOMYO_API_KEY;
if (!baseUrl) {
  const { startTestRouter } = await load("testing.mjs");
  router = await startTestRouter({ apiKey: "node-example-key" });
  baseUrl = router.url;
  apiKey = "node-example-key";
  console.log(`No NOMYO_BASE_URL set: test router on ${baseUrl}`);
}

// Node 20 has no `await using`: dispose in `finally`.
const client = new SecureChatCompletion({ baseUrl, apiKey, allowHttp: router !== undefined });
try {
  const prompt = `Hello from Node ${process.version}`;
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
  await client.dispose();
  await router?.close();
}
