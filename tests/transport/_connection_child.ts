/**
 * Child of the connection error test, run under Deno, Node and Bun (bundled): for each router
 * URL given (`name=url`), one request through a client with an API key, no retries and a short
 * timeout; prints one JSON line per URL: the error's name, tag, message, and whether the API key
 * appears anywhere in it.
 */
import { SecureChatCompletion } from "../../mod.ts";

const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
const node = (globalThis as { process?: { argv: string[] } }).process;
const args = deno?.args ?? node?.argv.slice(2) ?? [];
const API_KEY = "sk-child-secret-5150";

for (const arg of args) {
  const at = arg.indexOf("=");
  const [name, url] = [arg.slice(0, at), arg.slice(at + 1)];
  const client = new SecureChatCompletion({
    baseUrl: url,
    allowHttp: true,
    apiKey: API_KEY,
    maxRetries: 0,
    timeout: 1500,
    keySize: 2048,
  });
  const error = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] })
    .then(() => undefined, (e: unknown) => e as Error & { _tag?: string });
  await client.dispose();
  const seen = error === undefined
    ? ""
    : [error.message, String(error), JSON.stringify(error), error.stack ?? ""].join("\n");
  console.log(JSON.stringify({
    name,
    error: error?.name,
    tag: error?._tag,
    message: error?.message,
    leaked: seen.includes(API_KEY),
  }));
}
