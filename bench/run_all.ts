/**
 * Runs `cross_runtime.ts` and `doors.ts` under Deno, Node 20, Node 24 and Bun and prints the
 * tables: per runtime and payload size, the client's cost per request, the WebCrypto floor and
 * their ratio; requests per second at 1, 4 and 16 in flight; the router key checks; what each
 * door costs against `create()`; request latency with key rotation off and on; heap after N
 * sequential requests.
 *
 * ```sh
 * npx --yes deno@2 run -A bench/run_all.ts           # full: about 10 minutes on 2 cores
 * npx --yes deno@2 run -A bench/run_all.ts --quick   # about 4 minutes
 * ```
 *
 * Options: `--quick`; `--runtimes deno,node,node24,bun`; `--modes cipher,rps,doors,rotation,heap`;
 * `--requests N` (heap run, default 10,000, quick 1,000); `--json FILE` to keep the raw results.
 *
 * Node runs a bundle made with `deno bundle --platform browser` (Node cannot run TypeScript
 * here); Bun runs the same bundle; Deno runs the sources. Node 20 is `node` on the PATH, Node 24
 * comes from `npx --yes node@24`, Bun from `npx --yes bun@1`.
 *
 * @module
 */

interface Runtime {
  readonly id: "deno" | "node" | "node24" | "bun";
  /** The command that runs `script` (a source file for Deno, a bundle for the others). */
  readonly command: (script: string) => { cmd: string; args: string[] };
}

interface Run {
  readonly runtime: { readonly name: string; readonly version: string };
  readonly result: Record<string, unknown>;
}

const argv = Deno.args;
const quick = argv.includes("--quick");
const pick = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const runtimes = (pick("--runtimes") ?? "deno,node,node24,bun").split(",");
const modes = (pick("--modes") ?? "cipher,rps,doors,rotation,heap").split(",");
const requests = pick("--requests") ?? (quick ? "1000" : "10000");
const jsonOut = pick("--json");
const root = new URL("..", import.meta.url).pathname;
const source = `${root}bench/cross_runtime.ts`;
const tmp = await Deno.makeTempDir({ prefix: "nomyo-bench-" });
const bundle = `${tmp}/cross_runtime.mjs`;
const doorsSource = `${root}bench/doors.ts`;
const doorsBundle = `${tmp}/doors.mjs`;
const deno = Deno.execPath();

const run = async (cmd: string, args: string[]): Promise<string> => {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`Cannot run ${cmd} ${args.join(" ")}: exit ${out.code}`);
  return text;
};

/** The executable `npx --yes <pkg>` runs, resolved once (npx costs a second per start). */
const npxPath = async (pkg: string): Promise<string> =>
  (await run("npx", ["--yes", pkg, "-e", "console.log(process.execPath)"])).trim();

const denoFlags = [
  "run",
  "--allow-read",
  "--allow-net=127.0.0.1",
  "--allow-env",
  "--v8-flags=--expose-gc",
];

const bun = runtimes.includes("bun") ? await npxPath("bun@1") : "";
const node24 = runtimes.includes("node24") ? await npxPath("node@24") : "";
const table: Record<string, Runtime> = {
  deno: { id: "deno", command: (s) => ({ cmd: deno, args: [...denoFlags, "--allow-sys", s] }) },
  node: { id: "node", command: (s) => ({ cmd: "node", args: ["--expose-gc", s] }) },
  node24: { id: "node24", command: (s) => ({ cmd: node24, args: ["--expose-gc", s] }) },
  bun: { id: "bun", command: (s) => ({ cmd: bun, args: [s] }) },
};
/** The script of `mode` for runtime `id`: the sources for Deno, the bundles elsewhere. */
const scriptOf = (id: string, mode: string): string =>
  mode === "doors"
    ? (id === "deno" ? doorsSource : doorsBundle)
    : mode === "verify"
    ? (id === "deno" ? verifySource : verifyBundle)
    : id === "deno"
    ? source
    : bundle;

const verifySource = `${root}bench/verify_protocol.ts`;
const verifyBundle = `${tmp}/verify_protocol.mjs`;
// Node runs the bundle, and so does the router process of the heap runs.
if (runtimes.some((r) => r !== "deno") || modes.includes("heap")) {
  console.error(`bundling ${source} and ${verifySource} for Node and Bun`);
  await run(deno, ["bundle", "--platform", "browser", "--quiet", "-o", bundle, source]);
  await run(deno, ["bundle", "--platform", "browser", "--quiet", "-o", verifyBundle, verifySource]);
  await run(deno, ["bundle", "--platform", "browser", "--quiet", "-o", doorsBundle, doorsSource]);
}

// The fast paths of src/protocol are checked on each runtime before anything is measured.
for (const id of runtimes) {
  const rt = table[id];
  if (rt === undefined) throw new TypeError(`unknown runtime ${id}`);
  const { cmd, args } = rt.command(scriptOf(id, "verify"));
  const out = await run(cmd, args);
  console.error(`[${id}] ${out.trim().split("\n").join(" — ")}`);
}

const parse = (stdout: string): Run => {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) throw new Error("Cannot read result: no RESULT line");
  return JSON.parse(line.slice("RESULT ".length)) as Run;
};

/** Starts a test router in its own process (Node: the fastest RSA here) for the heap runs. */
const startRouterProcess = async (): Promise<{ url: string; stop: () => Promise<void> }> => {
  const child = new Deno.Command("node", {
    args: [bundle, "serve", "--key-size", "2048"],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot start router process");
    seen += value;
  }
  const url = /listening on (\S+)/.exec(seen)?.[1];
  if (url === undefined) throw new Error(`Cannot start router process: ${seen}`);
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => undefined);
    },
  };
};

const results: Run[] = [];
const begin = performance.now();
for (const id of runtimes) {
  const rt = table[id];
  if (rt === undefined) throw new TypeError(`unknown runtime ${id}`);
  for (const mode of modes) {
    const { cmd, args } = rt.command(scriptOf(id, mode));
    const extra = quick ? ["--quick"] : [];
    if (mode === "heap") {
      const router = await startRouterProcess();
      try {
        results.push(
          parse(
            await run(cmd, [
              ...args,
              "heap",
              "--router",
              router.url,
              "--requests",
              requests,
              ...extra,
            ]),
          ),
        );
      } finally {
        await router.stop();
      }
    } else if (mode === "doors") {
      results.push(parse(await run(cmd, [...args, ...extra])));
    } else {
      results.push(parse(await run(cmd, [...args, mode, ...extra])));
    }
  }
}
const minutes = (performance.now() - begin) / 60_000;

// ---- tables ----
const fmt = (n: number, digits = 2): string => n.toFixed(digits);
/** A runtime as the tables name it: Node 20 and Node 24 are two rows. */
const label = (r: Run): string => `${r.runtime.name} ${r.runtime.version}`;
const byMode = (mode: string) =>
  results.filter((r) => (r.result as { mode?: string }).mode === mode);
const lines: string[] = [];
lines.push(
  `Date: ${new Date().toISOString().slice(0, 10)}; ${quick ? "quick" : "full"} run, ${
    fmt(minutes, 1)
  } min.`,
);
lines.push(
  `Runtimes: ${
    [...new Set(results.map((r) => `${r.runtime.name} ${r.runtime.version}`))].join(", ")
  }.`,
);
lines.push("");

/** Adds a Markdown table: its title, the header, the rows, and a note below when given. */
const markdownTable = (
  title: string,
  header: ReadonlyArray<string>,
  textColumns: number,
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  note?: string,
): void => {
  const align = header.map((_, i) => (i < textColumns ? "---" : "---:"));
  lines.push(title, "", `| ${header.join(" | ")} |`, `|${align.join("|")}|`);
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  lines.push("");
  if (note !== undefined) lines.push(note, "");
};

interface Pair {
  floorMs: number;
  projectMs: number;
  ratio: number;
}
interface CipherSize {
  size: string;
  seal: Pair;
  open: Pair;
  both: Pair;
  withJson: Pair;
  protocol?: Pair;
}
const cipher = byMode("cipher");
if (cipher.length > 0) {
  markdownTable(
    "Client cost per request (seal request + open response, RSA-4096) against the floor:",
    ["runtime", "payload", "client ms", "floor ms", "ratio", "target", "seal ratio", "open ratio"]
      .concat(["floor + JSON ms", "ratio to floor + JSON"])
      .concat(["protocol floor ms (× floor)", "ratio to protocol floor"]),
    2,
    cipher.flatMap((r) =>
      (r.result as { sizes: CipherSize[] }).sizes.map((s) => [
        label(r),
        s.size,
        fmt(s.both.projectMs),
        fmt(s.both.floorMs),
        fmt(s.both.ratio),
        s.size === "1 KiB" ? "≤ 1.15" : s.size === "1 MiB" ? "≤ 1.30" : "",
        fmt(s.seal.ratio),
        fmt(s.open.ratio),
        fmt(s.withJson.floorMs),
        fmt(s.withJson.ratio),
        s.protocol === undefined
          ? ""
          : `${fmt(s.protocol.floorMs)} (×${fmt(s.protocol.floorMs / s.both.floorMs)})`,
        s.protocol === undefined ? "" : fmt(s.protocol.ratio),
      ])
    ),
    "floor: the WebCrypto calls alone (RSA-OAEP wrap and unwrap, AES-GCM both ways). " +
      "floor + JSON: the same, plus the UTF-8 decoding and JSON.parse of the answer that " +
      "every client pays, encrypted or not. protocol floor: everything the protocol makes any " +
      "client do, each step with the runtime's fastest built-in and nothing checked (a fresh AES " +
      "key, the WebCrypto calls, base64 both ways, UTF-8 and JSON.parse of the answer); its × " +
      "floor is the lowest ratio a client can reach on that runtime.",
  );
}

interface RpsResult {
  cores?: number;
  rsa?: Record<"shared" | "distinct", Record<"1" | "16", number>>;
  encrypted: Array<{ inFlight: number; rps: number; medianMs: number; cpuPct?: number }>;
  /** Median over alternating rounds of each round's 16-vs-1 ratio (absent before). */
  ratio16to1?: number;
  plain: Array<{ inFlight: number; rps: number; medianMs: number }>;
  checks: {
    coldBurstKeyFetches: number;
    totalKeyFetches: number;
    extraRoundTrips: number;
    clientRequests: number;
  };
}
const rps = byMode("rps");
if (rps.length > 0) {
  markdownTable(
    "Round trips through the in-process test router (RSA-4096 both ends, 1 KiB each way):",
    ["runtime", "req/s @1", "req/s @4", "req/s @16", "16 vs 1", "median ms @1"]
      .concat(["CPU % @1 / @16", "CPU ms per request @1 / @16", "16 vs 1 the cores allow"])
      .concat(["RSA decrypt/s @1 → @16 (shared key / 16 keys)"])
      .concat(["plain req/s @1 / @16", "key fetches (cold burst of 16 / total)"])
      .concat(["extra round trips"]),
    1,
    rps.map((r) => {
      const x = r.result as unknown as RpsResult;
      const at = (n: number) => x.encrypted.find((e) => e.inFlight === n)!;
      const p = (n: number) => x.plain.find((e) => e.inFlight === n)!;
      const c = x.checks;
      // CPU time one request costs (all threads), from the CPU share and the rate.
      const cpuMs = (e: { rps: number; cpuPct?: number }) => (e.cpuPct! / 100) * 1000 / e.rps;
      return [
        label(r),
        fmt(at(1).rps, 1),
        fmt(at(4).rps, 1),
        fmt(at(16).rps, 1),
        `×${fmt(x.ratio16to1 ?? at(16).rps / at(1).rps)}`,
        fmt(at(1).medianMs, 1),
        at(1).cpuPct === undefined
          ? ""
          : `${fmt(at(1).cpuPct!, 0)} / ${fmt(at(16).cpuPct!, 0)} of ${x.cores! * 100}`,
        at(1).cpuPct === undefined ? "" : `${fmt(cpuMs(at(1)), 1)} / ${fmt(cpuMs(at(16)), 1)}`,
        at(1).cpuPct === undefined ? "" : `×${fmt((x.cores! * 100) / at(1).cpuPct!)}`,
        x.rsa === undefined
          ? ""
          : `${fmt(x.rsa.shared["1"], 0)} → ${fmt(x.rsa.shared["16"], 0)} / ${
            fmt(x.rsa.distinct["1"], 0)
          } → ${fmt(x.rsa.distinct["16"], 0)}`,
        `${fmt(p(1).rps, 0)} / ${fmt(p(16).rps, 0)}`,
        `${c.coldBurstKeyFetches} / ${c.totalKeyFetches} (${c.clientRequests} requests)`,
        c.extraRoundTrips,
      ];
    }),
    "CPU %: what this process (client and router) used while 1 and 16 requests were in flight, " +
      "in % of one core, of all cores: near the total, the cores bound the throughput. CPU ms " +
      "per request: CPU time (all threads) per request; flat or falling from 1 to 16 in flight, " +
      "nothing contends. 16 vs 1 the cores allow: all cores over the CPU one request in flight " +
      "keeps busy, the highest ratio reachable while a request's CPU time stays flat. RSA " +
      "decrypt/s: raw RSA-OAEP-4096 private-key operations at 1 and 16 in flight, with one " +
      "shared key and with 16 imports of it: how far the runtime runs them in parallel.",
  );
}

interface DoorsResult {
  sizes: Array<
    {
      size: string;
      rounds: number;
      doors: Array<{ door: string; medianMs: number; ratio: number }>;
    }
  >;
  skipped?: string;
}
const doors = byMode("doors");
if (doors.length > 0) {
  const names = [
    "create()",
    "create({ stream: true })",
    "client.fetch via openai-node",
    "proxy over HTTP",
  ];
  markdownTable(
    "Doors: the same request through each door against `create()`, same client, same router " +
      "(in-process, RSA-4096 both ends), alternating rounds, median ms and ratio to `create()`:",
    ["runtime", "payload", ...names, "rounds"],
    2,
    doors.flatMap((r) =>
      (r.result as unknown as DoorsResult).sizes.map((s) => [
        label(r),
        s.size,
        ...names.map((name) => {
          const d = s.doors.find((x) => x.door === name);
          return d === undefined || !Number.isFinite(d.medianMs)
            ? "skipped"
            : name === "create()"
            ? `${fmt(d.medianMs)} ms`
            : `${fmt(d.medianMs)} ms (×${fmt(d.ratio)})`;
        }),
        s.rounds,
      ])
    ),
    "create({ stream: true }): the streaming shape, every chunk consumed; client.fetch via " +
      "openai-node: `openai.chat.completions.create()` with `fetch: client.fetch`; proxy over " +
      "HTTP: `serveProxy({ handler: client.fetch })` and a plain `fetch` to it (one more HTTP " +
      "hop, JSON both ways).",
  );
  for (const r of doors) {
    const skipped = (r.result as unknown as DoorsResult).skipped;
    if (skipped !== undefined) lines.push(`${label(r)}: ${skipped}`, "");
  }
}

interface RotationRun {
  rotationMs: number;
  requests: number;
  clientKeysSeen: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}
const rotation = byMode("rotation");
if (rotation.length > 0) {
  markdownTable(
    "Key rotation: sequential 1 KiB requests through the in-process test router, RSA-4096 " +
      "client keys, rotation off and then every few seconds (the default is every 24 h):",
    ["runtime", "rotation", "requests", "client keys seen", "p50 ms", "p90 ms", "p99 ms", "max ms"],
    2,
    rotation.flatMap((r) =>
      (r.result as unknown as { runs: RotationRun[] }).runs.map((x) => [
        label(r),
        x.rotationMs === 0 ? "off" : `every ${x.rotationMs / 1000} s`,
        x.requests,
        x.clientKeysSeen,
        fmt(x.p50Ms, 1),
        fmt(x.p90Ms, 1),
        fmt(x.p99Ms, 1),
        fmt(x.maxMs, 1),
      ])
    ),
  );
}

interface HeapResult {
  keySize: number;
  requests: number;
  elapsedMs: number;
  heapStartMB: number;
  heapEndMB: number;
  heapMaxMB: number;
  rssStartMB: number;
  rssEndMB: number;
}
const heap = byMode("heap");
if (heap.length > 0) {
  markdownTable(
    "Heap over sequential requests (router in another process, RSA-2048 for time):",
    ["runtime", "requests", "heap start MB", "heap end MB", "Δ MB", "max MB"]
      .concat(["RSS start → end MB", "time s"]),
    1,
    heap.map((r) => {
      const h = r.result as unknown as HeapResult;
      return [
        label(r),
        h.requests,
        fmt(h.heapStartMB, 1),
        fmt(h.heapEndMB, 1),
        fmt(h.heapEndMB - h.heapStartMB, 1),
        fmt(h.heapMaxMB, 1),
        `${fmt(h.rssStartMB, 0)} → ${fmt(h.rssEndMB, 0)}`,
        fmt(h.elapsedMs / 1000, 0),
      ];
    }),
  );
}

console.log(lines.join("\n"));
if (jsonOut !== undefined) await Deno.writeTextFile(jsonOut, JSON.stringify(results, null, 2));
await Deno.remove(tmp, { recursive: true });
