/**
 * The bridge's deadlines hold on every runtime it runs on: node:http's own `headersTimeout` is
 * not enforced in time on any of them (Node and Deno check it every 30 s, Bun ignores it), so
 * the bridge's timers are what closes slowloris and idle connections. The same probe
 * (`_runtime_probe.ts`) runs under Deno, Node and Bun.
 *
 * The subprocesses are killed after a generous bound: that detects "hangs for ever", it is not
 * a performance assertion.
 */
import assert from "node:assert/strict";

/** Longer than the probe takes; only a hang reaches it. */
const HANG_MILLIS = 60_000;
const probe = new URL("./_runtime_probe.ts", import.meta.url).pathname;

const run = async (command: string, args: string[]) => {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), HANG_MILLIS);
  });
  const output = child.output().then((o) => ({
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  }));
  const result = await Promise.race([output, hung]);
  clearTimeout(timer);
  if (result === "hung") {
    child.kill("SIGKILL");
    await output;
  }
  return result;
};

let bundled: Promise<string> | undefined;
const bundle = (): Promise<string> =>
  bundled ??= (async () => {
    const out = `${await Deno.makeTempDir({ prefix: "nomyo_bridge_" })}/probe.mjs`;
    const result = await run("deno", ["bundle", "--platform", "node", "-o", out, probe]);
    assert.ok(result !== "hung" && result.code === 0, `bundling failed: ${JSON.stringify(result)}`);
    return out;
  })();

const runtimes: Record<string, () => Promise<[string, string[]]>> = {
  deno: () => Promise.resolve(["deno", ["run", "--no-check", "--allow-net=127.0.0.1", probe]]),
  node: async () => ["node", [await bundle()]],
  bun: async () => ["npx", ["--yes", "bun@1", await bundle()]],
};

for (const [runtime, commandFor] of Object.entries(runtimes)) {
  Deno.test(`serveHttp() closes slowloris and idle connections and refuses bad bodies under ${runtime}`, async () => {
    const [command, args] = await commandFor();
    const result = await run(command, args);
    assert.notEqual(result, "hung", `${runtime} did not finish within ${HANG_MILLIS} ms`);
    if (result === "hung") return;
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(result.stdout.match(/: ok /g)?.length, 7, result.stdout);
    assert.doesNotMatch(result.stdout, /FAIL/);
  });
}
