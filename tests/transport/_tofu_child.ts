/**
 * Child process of the trust-on-first-use tests: another process with the same known-routers
 * file. Sends one request to the router at `url` under `routerKeyPolicy: "tofu"` with
 * `knownRoutersPath: path`, and prints `ok` or `refused <tag> <reason>`.
 */
import { SecureChatCompletion } from "../../mod.ts";

const [url, path] = Deno.args;
const client = new SecureChatCompletion({
  baseUrl: url,
  allowHttp: true,
  keySize: 2048,
  maxRetries: 0,
  routerKeyPolicy: "tofu",
  knownRoutersPath: path,
});
try {
  await client.create({ model: "m", messages: [{ role: "user", content: "from the child" }] });
  console.log("ok");
} catch (e) {
  const { _tag, reason } = e as { _tag?: string; reason?: string };
  console.log(`refused ${_tag} ${reason}`);
} finally {
  await client.dispose();
}
