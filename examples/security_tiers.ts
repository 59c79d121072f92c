/**
 * Security tiers: per client (`securityTier`) or per request (`security_tier`). The `maximum` tier
 * needs a router with a TPM; the test router can pretend to have one (`tpm: true`).
 *
 *   npx --yes deno@2 run --allow-net=127.0.0.1 --allow-read --allow-env examples/security_tiers.ts
 */
import { SecureChatCompletion, ServiceUnavailableError } from "../mod.ts";
import { startTestRouter } from "../src/testing/mod.ts";

const ask = { model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content: "hi" }] };
const plain = await startTestRouter();
const withTpm = await startTestRouter({ tpm: true });
try {
  await using client = new SecureChatCompletion({
    baseUrl: plain.url,
    allowHttp: true,
    securityTier: "standard",
  });
  const standard = await client.create(ask);
  console.log("standard tier:", standard._metadata.model_tier ?? "(router default)");
  const high = await client.create({ ...ask, security_tier: "high" });
  console.log("high tier:", high._metadata.model_tier);
  try {
    await client.create({ ...ask, security_tier: "maximum" });
  } catch (e) {
    if (e instanceof ServiceUnavailableError) console.log("maximum without TPM:", e.message);
    else throw e;
  }
  const maximum = await client.create({ ...ask, security_tier: "maximum", base_url: withTpm.url });
  console.log("maximum on a TPM router:", maximum._metadata.model_tier);
} finally {
  await plain.close();
  await withTpm.close();
}
