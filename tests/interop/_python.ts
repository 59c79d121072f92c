/**
 * Finding python3 with the `cryptography` package, and running Python scripts of this folder.
 */

/** The path of a file next to this module. */
export const here = (name: string): string =>
  decodeURIComponent(new URL(`./${name}`, import.meta.url).pathname);

let cached: Promise<string | undefined> | undefined;

/**
 * Why the Python interop tests cannot run here, or `undefined` when they can: python3 must be
 * runnable (with `--allow-run=python3`) and import `cryptography`.
 */
export const pythonSkipReason = (): Promise<string | undefined> =>
  cached ??= (async () => {
    try {
      const { success } = await new Deno.Command("python3", {
        args: ["-c", "import cryptography"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      return success ? undefined : "the Python package cryptography is not installed for python3";
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "python3 is not installed";
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        return "python3 may not be run (pass --allow-run=python3)";
      }
      throw error;
    }
  })();

/** Logs a visible skip notice; returns whether the test should stop here. */
export const skipWithoutPython = async (test: string): Promise<string | undefined> => {
  const reason = await pythonSkipReason();
  if (reason !== undefined) console.warn(`SKIPPED ${test}: ${reason}`);
  return reason;
};
