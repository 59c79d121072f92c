/**
 * Child processes for tests that run a script under Deno, Node and Bun: a run bounded in time
 * (a hang is a result, not a stuck test), a bundle made once per test module, and the command
 * of each runtime.
 *
 * @module
 */
import assert from "node:assert/strict";

/** What a finished child printed, and its exit code. */
export interface ChildOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command; `"hung"` (and the child killed) when it is still running after `hangMillis`.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param hangMillis How long it may run.
 * @returns Its output, or `"hung"`.
 */
export const runBounded = async (
  command: string,
  args: string[],
  hangMillis: number,
): Promise<ChildOutput | "hung"> => {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), hangMillis);
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

/** The command (executable and arguments) that runs the script under one runtime. */
export type RuntimeCommand = (args: string[]) => Promise<[string, string[]]>;

/**
 * How to run `script` under Deno (the source, with the lockfile), Node and Bun (a bundle of
 * it, made once, on first use).
 *
 * @param script Path of the TypeScript entry.
 * @param platform `deno bundle --platform` for the Node and Bun bundle.
 * @returns A command per runtime.
 */
export const runtimeCommands = (
  script: string,
  platform: "browser" | "node",
): Record<"deno" | "node" | "bun", RuntimeCommand> => {
  let bundled: Promise<string> | undefined;
  const bundle = (): Promise<string> =>
    bundled ??= (async () => {
      const out = `${await Deno.makeTempDir({ prefix: "nomyo_child_" })}/child.mjs`;
      const result = await runBounded(
        "deno",
        ["bundle", "--platform", platform, "-o", out, script],
        120_000,
      );
      assert.ok(
        result !== "hung" && result.code === 0,
        `bundling failed: ${JSON.stringify(result)}`,
      );
      return out;
    })();
  return {
    deno: (args) =>
      Promise.resolve(["deno", ["run", "--no-check", "--allow-net=127.0.0.1", script, ...args]]),
    node: async (args) => ["node", [await bundle(), ...args]],
    bun: async (args) => ["npx", ["--yes", "bun@1", await bundle(), ...args]],
  };
};
