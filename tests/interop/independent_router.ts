/**
 * Runs `independent_router.py` (a NOMYO router written from PROTOCOL.md in Python with pyca/
 * cryptography) as a child process, for interop tests of the TypeScript client.
 *
 * Needs `--allow-run=python3` and `--allow-read`; register its tests with `testNeeding(PYTHON_MISSING)`
 * (tests/_tools.ts).
 */
import { here } from "./_python.ts";

/** Options of {@linkcode startIndependentRouter}. */
export interface IndependentRouterOptions {
  /** Require `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Router key size (default 2048, for speed). */
  readonly keySize?: 2048 | 4096;
  /** Accept the `maximum` security tier. */
  readonly tpm?: boolean;
}

/** A running independent router. */
export interface IndependentRouter {
  /** `"http://127.0.0.1:PORT"`. */
  readonly url: string;
  /** Stops the process and waits for it; idempotent. */
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Spawns the Python router on a free port and waits for its `listening on` line.
 *
 * @param options API key, key size, TPM.
 * @returns Its URL and a `close()`.
 */
export const startIndependentRouter = async (
  options: IndependentRouterOptions = {},
): Promise<IndependentRouter> => {
  const args = [here("independent_router.py"), "--port", "0"];
  if (options.keySize !== undefined) args.push("--key-size", String(options.keySize));
  if (options.apiKey !== undefined) args.push("--api-key", options.apiKey);
  if (options.tpm === true) args.push("--tpm");
  const child = new Deno.Command("python3", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONUNBUFFERED: "1" },
  }).spawn();

  // Drain stderr all along (a full pipe would block the router) and keep its tail for errors.
  let stderr = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write: (chunk) => {
        stderr = (stderr + chunk).slice(-4000);
      },
    }),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.status;
      await lines.cancel().catch(() => {});
      await stderrDone.catch(() => {});
    })();

  const url = await (async () => {
    let buffered = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("Cannot start independent router: no port within 30 s")),
        STARTUP_TIMEOUT_MS,
      );
    });
    try {
      while (true) {
        const { value, done } = await Promise.race([lines.read(), timeout]);
        if (done) throw new Error("Cannot start independent router: it exited");
        buffered += value;
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\r?\n/m.exec(buffered);
        if (match !== null) return match[1]!;
      }
    } catch (error) {
      await close();
      throw new Error(`${(error as Error).message}\n${stderr}`);
    } finally {
      clearTimeout(timer);
    }
  })();
  // Keep reading stdout so the child never blocks on a full pipe.
  void (async () => {
    try {
      while (!(await lines.read()).done);
    } catch {
      // Cancelled by close().
    }
  })();
  return { url, close };
};
