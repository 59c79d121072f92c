/**
 * The proxy command's client flags (`--timeout`, `--max-retries`, `--server-key-fingerprint`,
 * `--router-key-policy`, `--known-routers`, `--key-dir` with `NOMYO_KEY_PASSWORD`,
 * `--log-level`): each reaches its client option (seen through requests to the embedded test
 * router), each bad value exits 2 naming the flag, and no message ever holds a secret.
 */
import assert from "node:assert/strict";
import { inFlagWords } from "../../src/proxy/cli_messages.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";

const cli = new URL("../../src/proxy/proxy_cli.ts", import.meta.url).pathname;

const API_KEY = "sk-flag-test-api-key-0123456789";
const PASSWORD = "pw-flag-test-password-0123456789";
const SECRETS = [API_KEY, PASSWORD];

/** The API's option names, which the command's messages must not use. */
const API_NAMES =
  /\b(timeout:|maxRetries|serverKeyFingerprint|routerKeyPolicy|knownRoutersPath|keyDir|keyPassword|logLevel|allowHttp|baseUrl|apiKey)\b/;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const command = (args: ReadonlyArray<string>, env: Record<string, string>, dirs: string[]) =>
  new Deno.Command("deno", {
    args: [
      "run",
      "--no-check",
      "--allow-net=127.0.0.1",
      "--allow-env",
      ...(dirs.length === 0
        ? []
        : [`--allow-read=${dirs.join(",")}`, `--allow-write=${dirs.join(",")}`]),
      cli,
      ...args,
    ],
    env: { NOMYO_BASE_URL: "", NOMYO_API_KEY: "", NOMYO_KEY_PASSWORD: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

/** Runs the command to its end (it must refuse before serving; killed after a generous bound). */
const run = async (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> => {
  const child = command(args, env, []);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const output = await child.output();
  clearTimeout(timer);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
};

const assertNoSecret = (text: string): void => {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `a secret was printed: ${text}`);
};

/** A refusal: exit 2, the message matches, in flag words, without any secret. */
const assertRefused = async (args: ReadonlyArray<string>, message: RegExp): Promise<void> => {
  const result = await run([...args, "--api-key", API_KEY], { NOMYO_KEY_PASSWORD: PASSWORD });
  assert.equal(result.code, 2, `exit code for ${args.join(" ")}: ${result.stderr}`);
  assert.match(result.stderr, message, args.join(" "));
  assert.doesNotMatch(result.stderr, API_NAMES, args.join(" "));
  assertNoSecret(result.stdout + result.stderr);
};

/** A running proxy command: its URL, and `stop()`, which ends it and returns what it printed. */
interface Proxy {
  readonly url: string;
  readonly stop: () => Promise<string>;
}

const startProxy = async (
  router: TestRouter,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly dirs?: string[] } = {},
): Promise<Proxy> => {
  const child = command(
    ["--port", "0", "--base-url", router.url, "--allow-http", ...args],
    options.env ?? {},
    options.dirs ?? [],
  );
  let stderr = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (stderr += s) }),
  );
  let stdout = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      await stderrDone;
      await child.status;
      throw new Error(`the proxy did not start: ${stdout}${stderr}`);
    }
    stdout += value;
    url = /listening on (\S+)/.exec(stdout)?.[1];
  }
  const stdoutDone = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stdout += value;
    }
  })();
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await Promise.all([child.status, stderrDone, stdoutDone]);
      return stdout + stderr;
    },
  };
};

/** What the tests read of an answer: a completion's text, or an OpenAI error. */
interface Answer {
  readonly choices?: ReadonlyArray<{ readonly message: { readonly content: string } }>;
  readonly error?: { readonly code: string | null; readonly type: string };
}

/** One chat completion through the proxy: its status and JSON body. */
const ask = async (proxy: Proxy): Promise<{ status: number; body: Answer }> => {
  const response = await fetch(`${proxy.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "Qwen/Qwen3-0.6B",
      messages: [{ role: "user", content: "Hello" }],
    }),
  });
  return { status: response.status, body: await response.json() };
};

const completions = (router: TestRouter): number =>
  router.requests.filter((r) => r.path.endsWith("/secure_completion")).length;

/** Runs `body` with a test router, closed afterwards. */
const withRouter = async (body: (router: TestRouter) => Promise<void>): Promise<void> => {
  const router = await startTestRouter();
  try {
    await body(router);
  } finally {
    await router.close();
  }
};

/** Runs `body` with a proxy command, stopped afterwards; returns what it printed. */
const withProxy = async (
  router: TestRouter,
  args: ReadonlyArray<string>,
  body: (proxy: Proxy) => Promise<void>,
  options: { readonly env?: Record<string, string>; readonly dirs?: string[] } = {},
): Promise<string> => {
  const proxy = await startProxy(router, args, options);
  let printed: string | undefined;
  try {
    await body(proxy);
  } finally {
    printed = await proxy.stop();
  }
  assertNoSecret(printed);
  return printed;
};

Deno.test("proxy --server-key-fingerprint: the router's own works, another is refused", async () => {
  await withRouter(async (router) => {
    await withProxy(router, ["--server-key-fingerprint", router.fingerprint], async (proxy) => {
      const { status, body } = await ask(proxy);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.choices?.[0]?.message.content, "Echo: Hello");
    });
    await withProxy(router, ["--server-key-fingerprint", "ab".repeat(32)], async (proxy) => {
      const { status, body } = await ask(proxy);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error?.code, "FingerprintMismatch");
    });
  });
});

Deno.test("proxy --max-retries: 0 answers the router's 503, 1 retries once", async () => {
  await withRouter(async (router) => {
    await withProxy(router, ["--max-retries", "0"], async (proxy) => {
      router.inject({ status: 503 });
      const before = completions(router);
      const { status } = await ask(proxy);
      assert.equal(status, 503);
      assert.equal(completions(router) - before, 1); // the default (2) would have retried
    });
    await withProxy(router, ["--max-retries", "1"], async (proxy) => {
      router.inject({ status: 503, times: 2, retryAfter: "0" });
      const before = completions(router);
      const { status } = await ask(proxy);
      assert.equal(status, 503); // the default (2) would have succeeded on the third attempt
      assert.equal(completions(router) - before, 2);
    });
  });
});

Deno.test("proxy --timeout: an attempt slower than it is answered 504", async () => {
  await withRouter(async (router) => {
    await withProxy(router, ["--timeout", "200", "--max-retries", "0"], async (proxy) => {
      // Far longer than 200 ms; the default 60 s would wait for it and answer 200.
      router.inject({ delayMs: 10_000 });
      const { status, body } = await ask(proxy);
      assert.equal(status, 504, JSON.stringify(body));
      assert.equal(body.error?.code, "timeout");
    });
  });
});

Deno.test("proxy --key-dir: the key pair is saved there, encrypted with NOMYO_KEY_PASSWORD", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withRouter(async (router) => {
      const printed = await withProxy(router, ["--key-dir", dir], async (proxy) => {
        assert.equal((await ask(proxy)).status, 200);
      }, { env: { NOMYO_KEY_PASSWORD: PASSWORD }, dirs: [dir] });
      assert.doesNotMatch(printed, /saved unencrypted/);
      const privateKey = await Deno.readTextFile(`${dir}/private_key.pem`);
      assert.match(privateKey, /-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      assert.match(await Deno.readTextFile(`${dir}/public_key.pem`), /-----BEGIN PUBLIC KEY-----/);
      // The saved key is the one loaded next time: another password cannot open it.
      await withProxy(router, ["--key-dir", dir], async (proxy) => {
        const { status, body } = await ask(proxy);
        assert.equal(status, 500, JSON.stringify(body));
        assert.equal(body.error?.type, "key_error");
      }, { env: { NOMYO_KEY_PASSWORD: "another password" }, dirs: [dir] });
      assert.equal(await Deno.readTextFile(`${dir}/private_key.pem`), privateKey);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxy --router-key-policy tofu --known-routers: records the key, refuses a new one", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/routers.json`;
  try {
    await withRouter(async (router) => {
      const args = ["--router-key-policy", "tofu", "--known-routers", file];
      await withProxy(router, args, async (proxy) => {
        assert.equal((await ask(proxy)).status, 200);
      }, { dirs: [dir] });
      const known = JSON.parse(await Deno.readTextFile(file));
      assert.deepEqual(known, { version: 1, routers: { [router.url]: router.fingerprint } });
      await router.rotateKey();
      await withProxy(router, args, async (proxy) => {
        const { status, body } = await ask(proxy);
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(body.error?.code, "RouterKeyChanged");
      }, { dirs: [dir] });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxy --log-level debug logs each request's progress; the default does not", async () => {
  await withRouter(async (router) => {
    const quiet = await withProxy(router, [], async (proxy) => {
      assert.equal((await ask(proxy)).status, 200);
    });
    assert.doesNotMatch(quiet, /attempt 1/);
    const debug = await withProxy(router, ["--log-level", "debug"], async (proxy) => {
      assert.equal((await ask(proxy)).status, 200);
    });
    assert.match(debug, /attempt 1/);
  });
});

Deno.test("proxy command: a bad client flag exits 2 naming the flag, without secrets", async () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [["--timeout", "soon"], /--timeout must be a number/],
    [["--timeout", "0"], /--timeout must be a positive number of milliseconds/],
    [["--max-retries", "many"], /--max-retries must be a number/],
    [["--max-retries", "1.5"], /--max-retries must be a non-negative whole number/],
    [["--port", "http"], /--port must be a number/],
    [["--server-key-fingerprint", "abcd"], /--server-key-fingerprint must be a SHA-256/],
    [["--router-key-policy", "always"], /--router-key-policy must be "off" or "tofu"/],
    [
      ["--router-key-policy", "tofu"],
      /--router-key-policy tofu needs --key-dir or --known-routers/,
    ],
    [
      ["--known-routers", "/tmp/x.json"],
      /--known-routers is only used with --router-key-policy tofu/,
    ],
    [["--key-dir="], /--key-dir must be a non-empty string/],
    [["--log-level", "loud"], /--log-level must be one of "off", "error", "warn", "info", "debug"/],
  ];
  for (const [args, message] of cases) await assertRefused(args, message);
});

Deno.test("proxy command: an unknown flag exits 2 naming it; there is no password flag", async () => {
  await assertRefused(["--timeout-ms", "5"], /Unknown option '--timeout-ms'/);
  await assertRefused([`--key-password=${PASSWORD}`], /Unknown option '--key-password'/);
  // A stray word (a secret typed where a flag was expected) is not echoed.
  await assertRefused(["--allow-http", PASSWORD], /Unexpected argument/);
});

Deno.test("proxy --help describes every flag, and NOMYO_KEY_PASSWORD", async () => {
  const result = await run(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  const flags = [
    "port",
    "base-url",
    "allow-http",
    "api-key",
    "host",
    "allow-remote",
    "security-tier",
    "allow-origin",
    "timeout",
    "max-retries",
    "server-key-fingerprint",
    "router-key-policy",
    "known-routers",
    "key-dir",
    "log-level",
  ];
  for (const flag of flags) {
    // In the synopsis, and at the start of a line of its own that says what it does.
    assert.match(result.stdout, new RegExp(`\\[--${flag}\\b`), `synopsis lacks --${flag}`);
    assert.match(result.stdout, new RegExp(`^  --${flag}\\b`, "m"), `--${flag} not described`);
  }
  assert.match(result.stdout, /NOMYO_KEY_PASSWORD/);
});

Deno.test("inFlagWords() names the client flags and NOMYO_KEY_PASSWORD", () => {
  assert.equal(
    inFlagWords('knownRoutersPath is only used with routerKeyPolicy: "tofu"'),
    "--known-routers is only used with --router-key-policy tofu",
  );
  assert.equal(
    inFlagWords("maxRetries, serverKeyFingerprint, keyDir, keyPassword, logLevel"),
    "--max-retries, --server-key-fingerprint, --key-dir, NOMYO_KEY_PASSWORD, --log-level",
  );
  assert.equal(inFlagWords("timeout must be positive"), "--timeout must be positive");
  assert.equal(inFlagWords("a timeout 504"), "a timeout 504");
});
