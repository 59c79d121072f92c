/**
 * `deno task proxy`: the local encrypting proxy from the command line.
 *
 * ```sh
 * deno task proxy --port 8080 [--base-url URL] [--allow-http] [--api-key KEY] [--host H]
 *   [--allow-remote] [--security-tier standard|high|maximum] [--allow-origin URL]...
 *   [--timeout MS] [--max-retries N] [--server-key-fingerprint HEX]
 *   [--router-key-policy off|tofu] [--known-routers FILE] [--key-dir DIR]
 *   [--log-level off|error|warn|info|debug]
 * ```
 *
 * Each client flag is one option of `ClientOptions`, passed as given: `--timeout` is `timeout`
 * (milliseconds per attempt), `--max-retries` `maxRetries`, `--server-key-fingerprint`
 * `serverKeyFingerprint`, `--router-key-policy` `routerKeyPolicy`, `--known-routers`
 * `knownRoutersPath`, `--key-dir` `keyDir`, `--log-level` `logLevel`. The client checks them; its
 * refusals are printed in the flags' words, with exit code 2, as are unknown flags and numbers
 * that are not numbers.
 *
 * `NOMYO_BASE_URL` and `NOMYO_API_KEY` are read when the flags are absent (prefer the variable
 * for the key: command lines are visible to other users of the machine). The password of the key
 * files in `--key-dir` (`keyPassword`) is read from `NOMYO_KEY_PASSWORD` only, never from a flag.
 * Prints `listening on http://127.0.0.1:PORT/v1` and serves until SIGINT / SIGTERM.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type ClientOptions, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from "../client/options.ts";
import { SecureChatCompletion } from "../promise/secure_chat_completion.ts";
import { DEFAULT_BASE_URL, type SecurityTier } from "../protocol/headers.ts";
import { inFlagWords } from "./cli_messages.ts";
import { serveProxy } from "./proxy.ts";

const USAGE = `Usage: deno task proxy [--port N] [--base-url URL] [--allow-http] [--api-key KEY]
                       [--host H] [--allow-remote] [--security-tier TIER]
                       [--allow-origin URL]... [--timeout MS] [--max-retries N]
                       [--server-key-fingerprint HEX] [--router-key-policy POLICY]
                       [--known-routers FILE] [--key-dir DIR] [--log-level LEVEL]

Serves an OpenAI-compatible POST /v1/chat/completions and POST /v1/responses (JSON and SSE)
whose every request goes end-to-end encrypted to the NOMYO router. Point any OpenAI tool at the
printed URL.

  --port N             port (default 8080; 0 picks a free one)
  --base-url URL       router (default: NOMYO_BASE_URL, else ${DEFAULT_BASE_URL})
  --allow-http         allow an http:// router (local development only)
  --api-key KEY        API key (default: NOMYO_API_KEY; else the caller's Bearer token)
  --host H             address to bind (default 127.0.0.1)
  --allow-remote       allow a --host other than loopback (prints a warning)
  --security-tier T    default tier: standard, high or maximum
  --allow-origin URL   let web pages of this origin call the proxy (repeatable); any other
                       request from a web page is refused

Client:
  --timeout MS         time allowed per attempt, in milliseconds (default ${DEFAULT_TIMEOUT_MS})
  --max-retries N      retries after a 429, 500, 502, 503, 504, a timeout or a network
                       failure (default ${DEFAULT_MAX_RETRIES}; 0 turns retries off)
  --server-key-fingerprint HEX
                       SHA-256 fingerprint the router's public key must have (64 hex digits,
                       colons allowed); wins over --router-key-policy
  --router-key-policy P
                       off (default) or tofu: trust the first key each router presents and
                       refuse a later different one (needs --known-routers or --key-dir)
  --known-routers FILE the file where tofu records router keys (default: DIR/known_routers.json
                       of --key-dir)
  --key-dir DIR        keep the client's key pair in DIR (private_key.pem, public_key.pem):
                       loaded when present, else made and saved; encrypted with the password
                       in NOMYO_KEY_PASSWORD when it is set (never pass it as a flag)
  --log-level LEVEL    off, error, warn (default), info or debug (each request's progress;
                       never prompts, answers or keys)`;

const env = (name: string): string | undefined => {
  try {
    const value = process.env[name];
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
};

/** A usage mistake: printed with the usage, exit code 2. Never holds a flag's value. */
class UsageError extends Error {}

/**
 * A numeric flag as a number, or a `UsageError` naming the flag. Only the syntax is checked here
 * (`Number("")` is 0, `Number("0x10")` 16): what range is allowed is the client's to say.
 */
const numberFlag = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+(?:\.[0-9]+)?$/.test(value)) {
    throw new UsageError(`--${flag} must be a number`);
  }
  return Number(value);
};

/** A `parseArgs` message, without the value of an unexpected positional (it could be a key). */
const parseMessage = (error: unknown): string =>
  (error as { code?: unknown }).code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
    ? "Unexpected argument: this command takes only flags (--flag VALUE)"
    : (error as Error).message;

/** Only the options given: an absent flag leaves the client's default. */
const given = (options: Record<string, unknown>): ClientOptions =>
  Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as ClientOptions;

const main = async (): Promise<number> => {
  let values;
  let port: number;
  let timeout: number | undefined;
  let maxRetries: number | undefined;
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
        timeout: { type: "string" },
        "max-retries": { type: "string" },
        "server-key-fingerprint": { type: "string" },
        "router-key-policy": { type: "string" },
        "known-routers": { type: "string" },
        "key-dir": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
    port = numberFlag("port", values.port)!;
    timeout = numberFlag("timeout", values.timeout);
    maxRetries = numberFlag("max-retries", values["max-retries"]);
  } catch (error) {
    const message = error instanceof UsageError ? error.message : parseMessage(error);
    console.error(`${message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let client: SecureChatCompletion;
  try {
    client = new SecureChatCompletion(given({
      baseUrl: values["base-url"] ?? env("NOMYO_BASE_URL"),
      apiKey: values["api-key"] ?? env("NOMYO_API_KEY"),
      securityTier: values["security-tier"] as SecurityTier | undefined,
      allowHttp: values["allow-http"],
      timeout,
      maxRetries,
      serverKeyFingerprint: values["server-key-fingerprint"],
      routerKeyPolicy: values["router-key-policy"],
      knownRoutersPath: values["known-routers"],
      keyDir: values["key-dir"],
      keyPassword: env("NOMYO_KEY_PASSWORD"),
      logLevel: values["log-level"],
    }));
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
