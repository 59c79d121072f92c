/**
 * Child process of the idle exit test, run under Deno, Node and Bun (bundled): makes a client
 * with rotation on (the default) and never disposes it. Without an argument the client is never
 * used; with a router URL it makes one request first. Prints "done" when its own work ended;
 * the process must then exit by itself.
 */
import { SecureChatCompletion } from "../../mod.ts";

const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
const node = (globalThis as { process?: { argv: string[] } }).process;
const [url] = deno?.args ?? node?.argv.slice(2) ?? [];

const client = new SecureChatCompletion({
  baseUrl: url ?? "https://api.nomyo.ai",
  allowHttp: url !== undefined,
  keySize: 2048,
});
if (url !== undefined) {
  const answer = await client.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  if (answer.choices[0]?.message.content !== "Echo: hi") throw new Error("wrong answer");
}
console.log("done");
