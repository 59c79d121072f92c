/**
 * The redirect refusal under Node and Bun (and Deno): the same matrix as redirect_test.ts on
 * `node:http`, runnable from a bundle. Exits 1 on any failure.
 *
 * ```sh
 * deno bundle --platform browser -o /tmp/redirects.mjs tests/transport/redirect_runtimes.ts
 * node /tmp/redirects.mjs && npx --yes bun@1 /tmp/redirects.mjs
 * deno run -A tests/transport/redirect_runtimes.ts
 * ```
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecurityError } from "../../src/errors.ts";
import { startTestRouter } from "../../src/testing/router.ts";

const KEY_PATH = "/pki/public_key";
const COMPLETION_PATH = "/v1/chat/secure_completion";
const other = await startTestRouter();
const plan = { endpoint: KEY_PATH, status: 302, location: "" };
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  req.resume();
  req.on("end", () => {
    if (req.url === plan.endpoint) {
      res.writeHead(plan.status, { location: plan.location }).end("moved");
    } else if (req.url === KEY_PATH) {
      res.writeHead(200, { "content-type": "text/plain" }).end(other.publicKeyPem);
    } else {
      res.writeHead(404).end();
    }
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const failures: string[] = [];
let cases = 0;
let refused = 0;
const fetches: [string, typeof globalThis.fetch | undefined][] = [
  ["default fetch", undefined],
  ["caller's fetch", (input, init) => globalThis.fetch(input, init)],
];
for (const [label, fetch] of fetches) {
  const client = new SecureChatCompletion({
    baseUrl: url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 2,
    ...(fetch === undefined ? {} : { fetch }),
  });
  for (const endpoint of [KEY_PATH, COMPLETION_PATH]) {
    for (const status of [301, 302, 303, 307, 308]) {
      for (
        const location of [`${other.url}${endpoint}`, `http://localhost:${other.port}${endpoint}`]
      ) {
        Object.assign(plan, { endpoint, status, location });
        cases++;
        const before = hits;
        const e = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
          .then(() => undefined, (x) => x);
        const ok = e instanceof SecurityError && e.reason === "RedirectRefused" &&
          e.message.includes(`answered ${status}`) && !e.message.includes(String(other.port));
        const asked = hits - before;
        if (ok && asked <= 2) refused++;
        else {
          failures.push(`${label} ${status} ${endpoint}: ${String(e)} (${asked} requests)`);
        }
      }
    }
  }
  await client.dispose();
}
if (other.requests.length > 0) failures.push(`the other origin got ${other.requests.length}`);
server.close();
await other.close();
const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
const runtime = g.Deno !== undefined
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun !== undefined
  ? `Bun ${g.Bun.version}`
  : `Node ${process.version}`;
console.log(`${runtime}: ${refused}/${cases} redirects refused`);
for (const f of failures) console.log(`FAILED ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
