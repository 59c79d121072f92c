/**
 * The proxy command's refusals name its flags (`--allow-http`, `--allow-origin`,
 * `--allow-remote`, `--base-url`, `--security-tier`), not the API's option names.
 */
import assert from "node:assert/strict";
import { inFlagWords } from "../../src/proxy/cli_messages.ts";

const cli = new URL("../../src/proxy/proxy_cli.ts", import.meta.url).pathname;

/** Runs the proxy command with `args`; it must refuse (exit 2) before serving. */
const refusal = async (...args: string[]): Promise<string> => {
  const process = new Deno.Command("deno", {
    args: ["run", "--no-check", "--allow-net=127.0.0.1", "--allow-env", cli, ...args],
    env: { NOMYO_BASE_URL: "", NOMYO_API_KEY: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Killed after a generous bound: detects a proxy that started serving instead of refusing.
  const timer = setTimeout(() => process.kill("SIGKILL"), 30_000);
  const output = await process.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, `exit code for ${args.join(" ")}: ${stderr}`);
  return stderr;
};

const API_NAMES = /\b(allowHttp|allowRemote|allowedOrigins|baseUrl|baseURL|securityTier|apiKey)\b/;

Deno.test("proxy command: an http:// router without --allow-http names the flag", async () => {
  const stderr = await refusal("--base-url", "http://127.0.0.1:9");
  assert.match(stderr, /pass --allow-http for local development/);
  assert.doesNotMatch(stderr, API_NAMES);
});

Deno.test("proxy command: a --base-url ending in /v1 names the flag and the URL to use", async () => {
  const stderr = await refusal("--base-url", "https://api.nomyo.ai/v1");
  assert.match(
    stderr,
    /--base-url "https:\/\/api\.nomyo\.ai\/v1" ends in \/v1; .*use "https:\/\/api\.nomyo\.ai"/,
  );
  assert.doesNotMatch(stderr, API_NAMES);
});

Deno.test("proxy command: a bad --allow-origin and --security-tier name their flags", async () => {
  const origin = await refusal("--allow-origin", "https://app.example/path");
  assert.match(origin, /--allow-origin/);
  assert.doesNotMatch(origin, API_NAMES);
  const tier = await refusal("--security-tier", "extreme");
  assert.match(tier, /--security-tier must be one of/);
  assert.doesNotMatch(tier, API_NAMES);
});

Deno.test("proxy command: a non-loopback --host without --allow-remote names the flag", async () => {
  const stderr = await refusal("--host", "192.0.2.1", "--port", "0");
  assert.match(stderr, /allow it with --allow-remote/);
  assert.doesNotMatch(stderr, API_NAMES);
});

Deno.test("inFlagWords() names each option by its flag and leaves other words", () => {
  assert.equal(
    inFlagWords("Cannot use base URL: credentials in the URL are refused; use apiKey"),
    "Cannot use base URL: credentials in the URL are refused; use --api-key or NOMYO_API_KEY",
  );
  assert.equal(
    inFlagWords("x is not a loopback address; allow it with allowRemote (--allow-remote)"),
    "x is not a loopback address; allow it with --allow-remote",
  );
  assert.equal(inFlagWords("baseURL and allowedOrigins"), "--base-url and --allow-origin");
  assert.equal(inFlagWords("port 99999 is not a port number"), "port 99999 is not a port number");
});
