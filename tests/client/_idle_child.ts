/**
 * Child process of the idle exit test, run under Deno, Node and Bun (bundled): makes a client
 * with rotation on (the default) and never disposes it. Without an argument the client is never
 * used; with a router URL it makes one request first; with a URL and `abort-first`, its first
 * request (through `client.fetch`, as an SDK sends it) is aborted while the first key pair is
 * still being made, and a second one must then succeed; with a URL and `dispose`, a first run
 * as a new user writes it (default RSA-4096 key, default rotation): one request, then
 * `dispose()`, then it prints `disposed-at <epoch ms>` for the parent to measure the exit.
 * Prints "done" when its own work ended; the process must then exit by itself.
 */
import { SecureChatCompletion } from "../../mod.ts";

const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
const node = (globalThis as { process?: { argv: string[] } }).process;
const [url, mode] = deno?.args ?? node?.argv.slice(2) ?? [];

const client = new SecureChatCompletion({
  baseUrl: url ?? "https://api.nomyo.ai",
  allowHttp: url !== undefined,
  keySize: mode === "dispose" ? 4096 : 2048,
});
const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
const post = (signal: AbortSignal | null = null): Promise<Response> =>
  client.fetch("http://nomyo.invalid/v1/chat/completions", { method: "POST", body, signal });
if (url !== undefined && mode === "abort-first") {
  const aborted = await post(AbortSignal.timeout(1)).then(() => "answered", (e: Error) => e.name);
  if (aborted !== "TimeoutError" && aborted !== "AbortError") {
    throw new Error(`the first call was not aborted: ${aborted}`);
  }
  const response = await post();
  const answer = await response.json();
  if (answer.choices?.[0]?.message.content !== "Echo: hi") {
    throw new Error(`the client is not usable after the aborted first call: ${response.status}`);
  }
} else if (url !== undefined && mode === "dispose") {
  const answer = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  if (answer.choices[0]?.message.content !== "Echo: hi") throw new Error("wrong answer");
  await client.dispose();
  console.log(`disposed-at ${Date.now()}`);
} else if (url !== undefined) {
  const answer = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  if (answer.choices[0]?.message.content !== "Echo: hi") throw new Error("wrong answer");
}
console.log("done");
