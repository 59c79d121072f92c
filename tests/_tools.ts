/**
 * External programs some tests need (python3 with pyca/cryptography, openssl). Each is looked
 * for once, when a test module loads; a test that needs a missing one is registered as
 * ignored — reported by the runner as ignored, never as passed — with a visible line saying
 * why. `.ci/run` installs them, and in CI an ignored test fails the run.
 *
 * @module
 */

/**
 * Why `command` cannot be run here, or `undefined` when `command args` exits 0.
 *
 * @param command The program.
 * @param args Arguments of a cheap run that must succeed (e.g. `version`).
 * @returns The reason, or `undefined`.
 */
export const toolMissing = async (
  command: string,
  args: ReadonlyArray<string>,
): Promise<string | undefined> => {
  try {
    const { success } = await new Deno.Command(command, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : `\`${command} ${args.join(" ")}\` failed`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return `${command} is not installed`;
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return `${command} may not be run (pass --allow-run=${command})`;
    }
    throw error;
  }
};

/** Why python3 with pyca/cryptography is not available, or `undefined`. */
export const PYTHON_MISSING: string | undefined = await toolMissing("python3", [
  "-c",
  "import cryptography",
]);

/** Why `openssl` is not available, or `undefined`. */
export const OPENSSL_MISSING: string | undefined = await toolMissing("openssl", ["version"]);

/**
 * Registers a test that needs a tool: ignored (with a line saying why) when it is missing.
 *
 * @param missing The tool's `…_MISSING` reason.
 * @returns A `Deno.test` of a name and a function.
 */
export const testNeeding = (
  missing: string | undefined,
): (name: string, fn: () => Promise<void>) => void =>
(name, fn) => {
  if (missing !== undefined) console.warn(`IGNORED ${name}: ${missing}`);
  Deno.test({ name, ignore: missing !== undefined, fn });
};
