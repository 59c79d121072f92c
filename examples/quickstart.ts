/**
 * Quick start: one end-to-end encrypted chat completion.
 *
 *   npx --yes deno@2 task demo
 *
 * With no NOMYO_BASE_URL set, it starts the embedded test router on 127.0.0.1 (a NOMYO-
 * compatible router with a deterministic echo model) and talks to it. With NOMYO_BASE_URL
 * (and NOMYO_API_KEY) set, it talks to that router instead.
 */
import { SecureChatCompletion } from "../mod.ts";
import { startTestRouter, type TestRouter } from "../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
};

const prompt = "What is the capital of France? (this sentence never crosses the wire in clear)";
const realUrl = env("NOMYO_BASE_URL");
let router: TestRouter | undefined;
if (realUrl === undefined) {
  console.log("No NOMYO_BASE_URL set: starting the embedded test router (RSA-4096 key)…");
  router = await startTestRouter({ keySize: 4096 });
  console.log(`  router listening on ${router.url}\n`);
}

try {
  await using client = new SecureChatCompletion(
    router === undefined
      ? { baseUrl: realUrl! }
      : { baseUrl: router.url, allowHttp: true, apiKey: "demo-key" },
  );
  const started = performance.now();
  const answer = await client.create({
    model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: prompt }],
    temperature: 0.2,
  });
  const ms = (performance.now() - started).toFixed(0);

  console.log(`Answer (${ms} ms, including the client's first RSA-4096 key pair):`);
  console.log(`  ${answer.choices[0]?.message.content}\n`);
  const again = performance.now();
  await client.create({
    model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: "And of Germany?" }],
  });
  console.log(
    `A second request took ${(performance.now() - again).toFixed(0)} ms ` +
      "(keys ready, router key cached: no extra round trip).\n",
  );
  console.log("_metadata:");
  console.log(JSON.stringify(answer._metadata, null, 2).replace(/^/gm, "  "), "\n");

  if (router !== undefined) {
    const sent = router.requests.find((r) => r.path === "/v1/chat/secure_completion");
    if (sent === undefined) throw new Error("the router saw no completion request");
    const wire = new TextDecoder().decode(sent.body);
    const pkg = JSON.parse(wire);
    const clip = (s: string) => (s.length > 48 ? `${s.slice(0, 48)}… (${s.length} chars)` : s);
    console.log("What crossed the wire (request body, as the router received it):");
    console.log(`  version            ${pkg.version}`);
    console.log(`  algorithm          ${pkg.algorithm}`);
    console.log(`  ciphertext         ${clip(pkg.encrypted_payload.ciphertext)}`);
    console.log(`  nonce              ${pkg.encrypted_payload.nonce}`);
    console.log(`  tag                ${pkg.encrypted_payload.tag}`);
    console.log(`  encrypted_aes_key  ${clip(pkg.encrypted_aes_key)}`);
    console.log(`  headers            ${Object.keys(sent.headers).sort().join(", ")}`);
    const leaked = wire.includes("capital of France") ||
      Object.values(sent.headers).some((v) => v.includes("capital of France"));
    console.log(
      `\nPrompt text present in the request body or headers: ${leaked ? "YES (bug!)" : "no"}`,
    );
    if (leaked) Deno.exit(1);
  }
} finally {
  await router?.close();
}
