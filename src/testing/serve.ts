/**
 * Runs the test router as a program, for interop tests with other clients:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 src/testing/serve.ts --port 8080 [--key-size 4096] [--api-key KEY] [--tpm[=rsassa|rsapss|ecdsa]] [--log] [--cors[=ORIGIN,…]]
 * ```
 *
 * It prints exactly `listening on http://127.0.0.1:PORT` on stdout once it serves, and stops on
 * SIGINT or SIGTERM.
 *
 * @module
 */
import process from "node:process";
import { startTestRouter, type TestRouterOptions } from "./router.ts";
import { type CorsOrigins, isOrigin } from "../server/cors.ts";
import type { SoftwareAikScheme } from "./software_tpm.ts";

/** The command line of the serve program, parsed. */
export interface ServeArgs {
  /** `--port N` (default 0: a free port). */
  readonly port: number;
  /** `--key-size 2048|4096` (default 2048). */
  readonly keySize: 2048 | 4096;
  /** `--api-key KEY`, when given. */
  readonly apiKey?: string;
  /**
   * `--tpm`: accept the `maximum` tier and attach a software TPM quote to its answers;
   * `--tpm=ecdsa` (or `rsassa`, `rsapss`) chooses the AIK.
   */
  readonly tpm: boolean;
  /** The AIK scheme of `--tpm=SCHEME`, when given. */
  readonly tpmAik?: SoftwareAikScheme;
  /** `--log`: one line per request on stderr. */
  readonly log: boolean;
  /** `--cors` (any origin) or `--cors=ORIGIN,…` (those); `false` without the flag. */
  readonly cors: false | CorsOrigins;
}

/** The usage text printed on a bad command line. */
export const SERVE_USAGE =
  "usage: serve.ts [--port N] [--key-size 2048|4096] [--api-key KEY] [--tpm[=rsassa|rsapss|ecdsa]] [--log] [--cors[=ORIGIN,…]]";

/**
 * Parses the serve program's arguments.
 *
 * @param argv The arguments after the script name.
 * @returns The parsed arguments; a `TypeError` naming the problem for anything else.
 */
export const parseServeArgs = (argv: ReadonlyArray<string>): ServeArgs => {
  let port = 0;
  let keySize: 2048 | 4096 = 2048;
  let apiKey: string | undefined;
  let tpm = false;
  let tpmAik: SoftwareAikScheme | undefined;
  let log = false;
  let cors: false | CorsOrigins = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.startsWith("--") && flag.includes("=")
      ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)]
      : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new TypeError(`Cannot parse arguments: ${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--port": {
        const v = value();
        port = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
        if (!(port <= 65535)) throw new TypeError(`Cannot parse arguments: bad port ${v}`);
        break;
      }
      case "--key-size": {
        const v = value();
        if (v !== "2048" && v !== "4096") {
          throw new TypeError(`Cannot parse arguments: key size must be 2048 or 4096`);
        }
        keySize = v === "2048" ? 2048 : 4096;
        break;
      }
      case "--api-key":
        apiKey = value();
        break;
      case "--tpm":
        tpm = true;
        if (inline !== undefined) {
          if (inline !== "rsassa" && inline !== "rsapss" && inline !== "ecdsa") {
            throw new TypeError(`Cannot parse arguments: --tpm takes rsassa, rsapss or ecdsa`);
          }
          tpmAik = inline;
        }
        break;
      case "--log":
        log = true;
        break;
      case "--cors":
        cors = parseCors(inline);
        break;
      default:
        throw new TypeError(`Cannot parse arguments: unknown argument ${name}`);
    }
  }
  return {
    port,
    keySize,
    tpm,
    log,
    cors,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(tpmAik === undefined ? {} : { tpmAik }),
  };
};

/** `--cors` and `--cors=*`: any origin; `--cors=https://a,https://b`: those. */
const parseCors = (inline: string | undefined): CorsOrigins => {
  if (inline === undefined || inline === "*") return true;
  const origins = inline.split(",").map((o) => o.trim());
  const bad = origins.find((o) => !isOrigin(o));
  if (bad !== undefined) {
    throw new TypeError(
      `Cannot parse arguments: --cors origin ${
        JSON.stringify(bad)
      } is not an origin like https://app.example:8443`,
    );
  }
  return origins;
};

/**
 * Starts the router from a command line, prints the listening line, and serves until `signal`
 * aborts.
 *
 * @param argv The arguments after the script name.
 * @param signal Stops the router when it aborts.
 * @param print Where the listening line goes (default `console.log`).
 * @returns When the router is closed.
 */
export const runServe = async (
  argv: ReadonlyArray<string>,
  signal: AbortSignal,
  print: (line: string) => void = console.log,
): Promise<void> => {
  const args = parseServeArgs(argv);
  const options: TestRouterOptions = {
    port: args.port,
    keySize: args.keySize,
    tpm: args.tpm && args.tpmAik !== undefined ? { aik: args.tpmAik } : args.tpm,
    log: args.log,
    cors: args.cors,
    ...(args.apiKey === undefined ? {} : { apiKey: args.apiKey }),
  };
  const router = await startTestRouter(options);
  print(`listening on ${router.url}`);
  if (!signal.aborted) {
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
  }
  await router.close();
};

if (import.meta.main) {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    await runServe(process.argv.slice(2), controller.signal);
  } catch (error) {
    console.error(error instanceof TypeError ? `${error.message}\n${SERVE_USAGE}` : error);
    process.exitCode = 2;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
