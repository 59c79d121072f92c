/**
 * The page that tests/browser/run.ts loads in headless Chromium (bundled with
 * `deno bundle --platform browser`). It reads two router URLs from its query string, runs the
 * checks below and POSTs the outcome as JSON to `/result` on its own origin:
 *
 * - an encrypted round trip through `SecureChatCompletion` to the router served with `--cors`
 *   (API key and security tier sent, so the preflight covers every protocol header);
 * - the client's key pair was made in the page, non-extractable (a spy on
 *   `crypto.subtle.generateKey`, and `exportKey` refused);
 * - `keyDir` fails with `KeyError` `"Unavailable"` and its message;
 * - the router served without `--cors` fails with an `APIConnectionError` that names CORS and
 *   is not retryable;
 * - `ask()` of examples/browser/app.ts answers through the router with `--cors`.
 *
 * No DOM types are used, so `deno check` checks this file with the rest of tests/.
 */
import { SecureChatCompletion } from "../../mod.ts";
import { ask } from "../../examples/browser/app.ts";

/** One check: its name, whether it passed, and what was seen. */
interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const params = new URLSearchParams(location.search);
const corsUrl = params.get("router") ?? "";
const plainUrl = params.get("nocors") ?? "";
const apiKey = params.get("key") ?? "";

const report = (body: unknown): Promise<Response> =>
  fetch("/result", { method: "POST", body: JSON.stringify(body) });

// Any error outside the checks reaches the runner too, instead of a silent timeout.
globalThis.addEventListener("error", (event) => {
  void report({ fatal: `uncaught: ${(event as ErrorEvent).message}` });
});
globalThis.addEventListener("unhandledrejection", (event) => {
  void report({ fatal: `unhandled rejection: ${String(event.reason)}` });
});

/** Every RSA key pair generated in this page. */
const generated: Array<{ readonly extractable: boolean; readonly pair: CryptoKeyPair }> = [];
const subtle = crypto.subtle;
const generateKey = subtle.generateKey.bind(subtle);
Object.defineProperty(subtle, "generateKey", {
  configurable: true,
  value: async (algorithm: AlgorithmIdentifier, extractable: boolean, usages: KeyUsage[]) => {
    const result = await generateKey(algorithm, extractable, usages);
    if ("privateKey" in result) generated.push({ extractable, pair: result });
    return result;
  },
});

const describe = (e: unknown): string => {
  const error = e as { name?: unknown; message?: unknown; reason?: unknown };
  return `${String(error?.name)}${
    error?.reason === undefined ? "" : ` (${String(error.reason)})`
  }: ${String(error?.message)}`;
};

const check = async (name: string, run: () => Promise<string>): Promise<Check> => {
  try {
    return { name, ok: true, detail: await run() };
  } catch (e) {
    return { name, ok: false, detail: describe(e) };
  }
};

const fail = (message: string): never => {
  throw new Error(message);
};

const roundTrip = async (): Promise<string> => {
  await using client = new SecureChatCompletion({ baseUrl: corsUrl, allowHttp: true, apiKey });
  const answer = await client.create({
    model: "echo",
    messages: [{ role: "user", content: "Hello from Chromium 🔐" }],
    security_tier: "high",
  });
  const content = answer.choices[0]?.message.content;
  if (content !== "Echo: Hello from Chromium 🔐") fail(`unexpected answer ${content}`);
  if (answer._metadata?.is_encrypted !== true) fail("the answer was not marked encrypted");
  return `${content} (payload ${answer._metadata?.payload_id})`;
};

const keysInPage = async (): Promise<string> => {
  const rsa = generated.filter((g) =>
    (g.pair.privateKey.algorithm as { name?: string }).name === "RSA-OAEP"
  );
  if (rsa.length === 0) fail("no RSA-OAEP key pair was generated in the page");
  for (const { extractable, pair } of rsa) {
    if (extractable || pair.privateKey.extractable) fail("a private key was extractable");
    const exported = await subtle.exportKey("pkcs8", pair.privateKey).then(
      () => true,
      () => false,
    );
    if (exported) fail("exportKey exported a private key");
  }
  const bits = (rsa[0]!.pair.privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  return `${rsa.length} RSA-OAEP pair(s), ${bits} bits, non-extractable, exportKey refused`;
};

const keyDirRefused = async (): Promise<string> => {
  const client = new SecureChatCompletion({ baseUrl: corsUrl, allowHttp: true, keyDir: "keys" });
  try {
    await client.create({ model: "echo", messages: [{ role: "user", content: "no files" }] });
  } catch (e) {
    const error = e as { name?: string; reason?: string; message?: string };
    if (error.name !== "KeyError" || error.reason !== "Unavailable") throw e;
    if (!/in browsers keys stay in memory/.test(error.message ?? "")) throw e;
    return describe(e);
  } finally {
    await client.dispose();
  }
  return fail("a client with keyDir answered in a browser");
};

const corsOffFails = async (): Promise<string> => {
  await using client = new SecureChatCompletion({
    baseUrl: plainUrl,
    allowHttp: true,
    apiKey,
    maxRetries: 0,
    timeout: 20_000,
  });
  const started = performance.now();
  try {
    await client.create({ model: "echo", messages: [{ role: "user", content: "refused" }] });
  } catch (e) {
    const ms = (performance.now() - started).toFixed(0);
    const error = e as { name?: string; message?: string; retryable?: unknown };
    if (error.name !== "APIConnectionError") throw e;
    if (!/CORS/.test(error.message ?? "")) fail(`the error does not name CORS: ${describe(e)}`);
    if (error.retryable !== false) fail(`the error is retryable (${String(error.retryable)})`);
    return `${describe(e)}, retryable false (after ${ms} ms)`;
  }
  return fail("a router without CORS answered a cross-origin page");
};

const exampleAsk = async (): Promise<string> => {
  const text = await ask(corsUrl, apiKey, "Hello from the example page");
  if (text !== "Echo: Hello from the example page") fail(`unexpected answer ${text}`);
  return text;
};

const checks: Check[] = [];
for (
  const [name, run] of [
    ["encrypted round trip to the router with --cors", roundTrip],
    ["keys made in the page, non-extractable", keysInPage],
    ["keyDir refused with its clear error", keyDirRefused],
    ["router without CORS fails with APIConnectionError naming CORS, not retryable", corsOffFails],
    ["examples/browser ask()", exampleAsk],
  ] as const
) {
  checks.push(await check(name, run));
}
await report({ userAgent: navigator.userAgent, checks });
