/**
 * The module in a real browser: bundles tests/browser/page.ts for the browser, serves it from one
 * origin (127.0.0.1, port A), runs `deno task serve --cors=<that origin>` on another (port B) and
 * `deno task serve` without CORS on a third, and loads the page in headless Chromium, which
 * POSTs its checks back to the page server (see page.ts). Prints the page bundle size.
 *
 *   deno run --allow-run --allow-read --allow-write --allow-net=127.0.0.1 --allow-env tests/browser/run.ts
 *
 * With `--single-file <path>` (e.g. the npm package's `dist/npm/browser/nomyo.mjs`), it loads that
 * file instead, unbundled, from a plain page (`<script type="module">` importing it, as a page
 * without a bundler does) and checks an encrypted round trip and the `APIConnectionError` class of
 * the router without CORS through it. Prints the file's size.
 *
 * Chromium is `$CHROMIUM` or `chromium` on the PATH (.ci/run installs Debian's). Everything is
 * bounded: each phase has a deadline, and the browser and routers are killed on the way out.
 * Chromium's background services are turned off and every host name other than 127.0.0.1 is
 * unresolvable, so the browser sends nothing beyond this machine. Exit code 0 when every check
 * passed, 1 otherwise, with the reason printed.
 */
const BUNDLE_TIMEOUT_MS = 120_000;
const ROUTER_START_MS = 60_000;
const PAGE_TIMEOUT_MS = 120_000;
const API_KEY = "browser-test-key";

const root = new URL("../../", import.meta.url);

/** `--single-file <path>` or `--single-file=<path>`: the single-file build to load unbundled. */
const singleFileArg = (args: ReadonlyArray<string>): string | undefined => {
  const at = args.findIndex((a) => a === "--single-file" || a.startsWith("--single-file="));
  if (at === -1) return undefined;
  const arg = args[at]!;
  const path = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[at + 1];
  if (path === undefined || path === "") throw new TypeError("--single-file needs a path");
  return path;
};
const singleFile = singleFileArg(Deno.args);
const deno = Deno.execPath();
const work = await Deno.makeTempDir({ prefix: "nomyo-browser-" });
const cleanups: Array<() => Promise<void>> = [];

/** Keeps the last bytes of a child's output, for the failure report. */
const tail = (stream: ReadableStream<Uint8Array>, keep = 16_384): () => string => {
  let text = "";
  void stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text = (text + chunk).slice(-keep)) }),
  ).catch(() => {});
  return () => text;
};

/** Sends SIGTERM, then SIGKILL when the process is still there after `graceMs`. */
const stop = async (child: Deno.ChildProcess, graceMs = 5_000): Promise<void> => {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone meanwhile */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
};

const deadline = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

const gzipSize = async (bytes: Uint8Array<ArrayBuffer>): Promise<number> => {
  const zipped = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(zipped).arrayBuffer()).byteLength;
};

const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;

/** Bundles the page the way a browser app would, minified. */
const bundle = async (): Promise<Uint8Array<ArrayBuffer>> => {
  const out = `${work}/page.js`;
  const result = await new Deno.Command(deno, {
    args: ["bundle", "--platform", "browser", "--minify", "-o", out, "tests/browser/page.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
  }).output();
  if (!result.success) {
    throw new Error(`deno bundle failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  const bytes = await Deno.readFile(out);
  console.log(
    `browser: page bundle ${kib(bytes.length)} (${bytes.length} bytes), ${
      kib(await gzipSize(bytes))
    } gzipped (deno bundle --platform browser --minify)`,
  );
  return bytes;
};

/** The single-file build, as it will be served. */
const readSingleFile = async (path: string): Promise<Uint8Array<ArrayBuffer>> => {
  const bytes = await Deno.readFile(path).catch((e: Error) => {
    throw new Error(`cannot read ${path} (run \`deno task build:npm\` first): ${e.message}`);
  });
  console.log(
    `browser: single file ${path}: ${kib(bytes.length)} (${bytes.length} bytes), ${
      kib(await gzipSize(bytes))
    } gzipped`,
  );
  return bytes;
};

/** `deno task serve …`; resolves with its URL once it prints the listening line. */
const startRouter = async (args: ReadonlyArray<string>): Promise<string> => {
  const child = new Deno.Command(deno, {
    args: ["task", "--quiet", "serve", ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  cleanups.push(() => stop(child));
  const stderr = tail(child.stderr);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const listening = (async () => {
    let text = "";
    while (true) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`deno task serve ${args.join(" ")} exited:\n${stderr()}`);
      text += value;
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(text);
      if (match) return match[1]!;
    }
  })();
  const url = await deadline(listening, ROUTER_START_MS, `deno task serve ${args.join(" ")}`);
  void (async () => { // keep draining stdout so the router never blocks on a full pipe
    while (!(await lines.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
  return url;
};

/** The checks of the plain page that imports the single-file build as it is served. */
const SINGLE_FILE_PAGE = `
const params = new URLSearchParams(location.search);
const report = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
const describe = (e) => \`\${e?.name}: \${e?.message}\`;
const check = async (name, run) => {
  try {
    return { name, ok: true, detail: await run() };
  } catch (e) {
    return { name, ok: false, detail: describe(e) };
  }
};
try {
  const nomyo = await import("/nomyo.mjs");
  const { SecureChatCompletion, APIConnectionError, NomyoError } = nomyo;
  const apiKey = params.get("key");
  const checks = [];
  checks.push(await check("single-file build: encrypted round trip", async () => {
    const client = new SecureChatCompletion({ baseUrl: params.get("router"), allowHttp: true, apiKey });
    try {
      const answer = await client.create({
        model: "echo",
        messages: [{ role: "user", content: "Hello from nomyo.mjs 🔐" }],
        security_tier: "high",
      });
      const content = answer.choices[0]?.message.content;
      if (content !== "Echo: Hello from nomyo.mjs 🔐") throw new Error(\`unexpected answer \${content}\`);
      if (answer._metadata?.is_encrypted !== true) throw new Error("the answer was not marked encrypted");
      return content;
    } finally {
      await client.dispose();
    }
  }));
  checks.push(await check("single-file build: APIConnectionError without CORS", async () => {
    const client = new SecureChatCompletion({
      baseUrl: params.get("nocors"), allowHttp: true, apiKey, maxRetries: 0, timeout: 20000,
    });
    try {
      await client.create({ model: "echo", messages: [{ role: "user", content: "refused" }] });
    } catch (e) {
      if (!(e instanceof APIConnectionError) || !(e instanceof NomyoError)) throw e;
      return describe(e);
    } finally {
      await client.dispose();
    }
    throw new Error("a router without CORS answered a cross-origin page");
  }));
  await report({ userAgent: navigator.userAgent, checks });
} catch (e) {
  await report({ fatal: \`cannot load /nomyo.mjs: \${describe(e)}\` });
}
`;

/** The page server: index.html, its script, and POST /result with the page's outcome. */
const servePage = (script: Uint8Array<ArrayBuffer>) => {
  let deliver: (value: unknown) => void = () => {};
  const result = new Promise<unknown>((resolve) => deliver = resolve);
  const html = `<!doctype html><meta charset="utf-8"><title>@nomyo/client browser test</title>` +
    (singleFile === undefined
      ? `<script type="module" src="/page.js"></script>`
      : `<script type="module">${SINGLE_FILE_PAGE}</script>`);
  const scriptPath = singleFile === undefined ? "/page.js" : "/nomyo.mjs";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const { pathname } = new URL(req.url);
    if (req.method === "GET" && pathname === "/") {
      return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (req.method === "GET" && pathname === scriptPath) {
      return new Response(script, { headers: { "content-type": "text/javascript" } });
    }
    if (req.method === "POST" && pathname === "/result") {
      try {
        deliver(await req.json());
      } catch {
        deliver({ fatal: "the page posted a result that is not JSON" });
      }
      return new Response(null, { status: 204 });
    }
    return new Response("not found", { status: 404 });
  });
  cleanups.push(() => server.shutdown());
  return { origin: `http://127.0.0.1:${server.addr.port}`, result };
};

/** Starts Chromium on `url`; `exited` rejects if it ends before being stopped. */
const launchChromium = (url: string): { output: () => string; exited: Promise<never> } => {
  const binary = Deno.env.get("CHROMIUM") ?? "chromium";
  const child = new Deno.Command(binary, {
    args: [
      "--headless",
      // Chromium refuses to run as root (CI) with its sandbox; the page is our own.
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--user-data-dir=${work}/profile`,
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-domain-reliability",
      "--disable-client-side-phishing-detection",
      "--disable-breakpad",
      "--no-pings",
      "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
      "--enable-logging=stderr",
      url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  cleanups.push(() => stop(child));
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  const exited = child.status.then((status) => {
    throw new Error(`chromium exited with code ${status.code} before the page reported`);
  });
  exited.catch(() => {}); // observed by the race below; only an early exit matters
  return { output: () => `${stdout()}${stderr()}`, exited };
};

interface PageResult {
  readonly fatal?: string;
  readonly userAgent?: string;
  readonly checks?: ReadonlyArray<{ name: string; ok: boolean; detail: string }>;
}

let failures = 0;
try {
  const script = singleFile === undefined ? await bundle() : await readSingleFile(singleFile);
  const page = servePage(script);
  const corsRouter = await startRouter([`--cors=${page.origin}`, "--api-key", API_KEY]);
  const plainRouter = await startRouter(["--api-key", API_KEY]);
  const query = new URLSearchParams({ router: corsRouter, nocors: plainRouter, key: API_KEY });
  console.log(
    `browser: page ${page.origin}, router with CORS ${corsRouter}, without ${plainRouter}`,
  );
  const chromium = launchChromium(`${page.origin}/?${query}`);
  let result: PageResult;
  try {
    result = await deadline(
      Promise.race([page.result, chromium.exited]),
      PAGE_TIMEOUT_MS,
      "the page in headless Chromium",
    ) as PageResult;
  } catch (e) {
    throw new Error(`${(e as Error).message}; Chromium said:\n${chromium.output()}`);
  }
  if (result.fatal !== undefined) throw new Error(`the page failed: ${result.fatal}`);
  console.log(`browser: ${result.userAgent}`);
  const checks = result.checks ?? [];
  const expected = singleFile === undefined ? 5 : 2;
  if (checks.length !== expected) {
    throw new Error(`the page reported ${checks.length} checks, not ${expected}`);
  }
  for (const { name, ok, detail } of checks) {
    console.log(`browser: ${ok ? "ok" : "FAILED"} ${name}: ${detail}`);
    if (!ok) failures++;
  }
} catch (e) {
  console.error(`browser: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  failures++;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
Deno.exit(failures === 0 ? 0 : 1);
