/**
 * `deno task proxy`: the local encrypting proxy from the command line.
 *
 * ```sh
 * deno task proxy --port 8080 [--base-url URL] [--allow-http] [--api-key KEY] [--host H]
 *   [--allow-remote] [--security-tier standard|high|maximum] [--allow-origin URL]...
 * ```
 *
 * `NOMYO_BASE_URL` and `NOMYO_API_KEY` are read when the flags are absent (prefer the variable
 * for the key: command lines are visible to other users of the machine). Prints
 * `listening on http://127.0.0.1:PORT/v1` and serves until SIGINT / SIGTERM.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { SecureChatCompletion } from "../promise/secure_chat_completion.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { inFlagWords } from "./cli_messages.ts";
import { serveProxy } from "./proxy.ts";

const USAGE = `Usage: deno task proxy [--port N] [--base-url URL] [--allow-http] [--api-key KEY]
                       [--host H] [--allow-remote] [--security-tier TIER]
                       [--allow-origin URL]...

Serves an OpenAI-compatible POST /v1/chat/completions and POST /v1/responses (JSON and SSE)
whose every request goes end-to-end encrypted to the NOMYO router. Point any OpenAI tool at the
printed URL.

  --port N             port (default 8080; 0 picks a free one)
  --base-url URL       router (default: NOMYO_BASE_URL, else https://api.nomyo.ai)
  --allow-http         allow an http:// router (local development only)
  --api-key KEY        API key (default: NOMYO_API_KEY; else the caller's Bearer token)
  --host H             address to bind (default 127.0.0.1)
  --allow-remote       allow a --host other than loopback (prints a warning)
  --security-tier T    default tier: standard, high or maximum
  --allow-origin URL   let web pages of this origin call the proxy (repeatable); any other
                       request from a web page is refused`;

const env = (name: string): string | undefined => {
  try {
    const value = process.env[name];
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
};

const main = async (): Promise<number> => {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        port: { type: "string", default: "8080" },
        "base-url": { type: "string" },
        "allow-http": { type: "boolean", default: false },
        "api-key": { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        "allow-remote": { type: "boolean", default: false },
        "security-tier": { type: "string" },
        "allow-origin": { type: "string", multiple: true, default: [] },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  const baseUrl = values["base-url"] ?? env("NOMYO_BASE_URL");
  const apiKey = values["api-key"] ?? env("NOMYO_API_KEY");
  const tier = values["security-tier"];
  let client: SecureChatCompletion;
  try {
    client = new SecureChatCompletion({
      ...(baseUrl === undefined ? {} : { baseUrl }),
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(tier === undefined ? {} : { securityTier: tier as SecurityTier }),
      allowHttp: values["allow-http"],
    });
  } catch (error) {
    console.error(`Cannot start proxy: ${inFlagWords((error as Error).message)}`);
    return 2;
  }
  let proxy;
  try {
    proxy = await serveProxy({
      handler: client.fetch,
      port,
      hostname: values.host,
      allowRemote: values["allow-remote"],
      allowedOrigins: values["allow-origin"],
    });
  } catch (error) {
    await client.dispose();
    console.error(inFlagWords((error as Error).message));
    return 2;
  }
  console.log(`listening on ${proxy.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await proxy.close();
  await client.dispose();
  return 0;
};

process.exitCode = await main();
