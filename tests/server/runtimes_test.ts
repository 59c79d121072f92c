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
import { runBounded, runtimeCommands } from "../_subprocess.ts";

/** Longer than the probe takes; only a hang reaches it. */
const HANG_MILLIS = 60_000;
const probe = new URL("./_runtime_probe.ts", import.meta.url).pathname;

const run = (command: string, args: string[]) => runBounded(command, args, HANG_MILLIS);
const runtimes = runtimeCommands(probe, "node");

for (const [runtime, commandFor] of Object.entries(runtimes)) {
  Deno.test(`serveHttp() closes slowloris and idle connections and refuses bad bodies under ${runtime}`, async () => {
    const [command, args] = await commandFor([]);
    const result = await run(command, args);
    assert.notEqual(result, "hung", `${runtime} did not finish within ${HANG_MILLIS} ms`);
    if (result === "hung") return;
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(result.stdout.match(/: ok /g)?.length, 7, result.stdout);
    assert.doesNotMatch(result.stdout, /FAIL/);
  });
}
