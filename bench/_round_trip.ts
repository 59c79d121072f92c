/**
 * Round trips for the benches: the real client (`SecureChatCompletion.create`) against the test
 * router, and the unencrypted baseline against the plain server, with a fixed number of
 * requests in flight. Runtime-neutral.
 *
 * @module
 */
import process from "node:process";
import { SecureChatCompletion } from "../src/promise/secure_chat_completion.ts";
import type { ClientOptions } from "../src/client/options.ts";
import { startTestRouter, type TestRouter } from "../src/testing/router.ts";

/** The encrypted setup: a test router and a client pointed at it. */
export interface EncryptedSetup {
  /** The router (in this process). */
  readonly router: TestRouter;
  /** The client. */
  readonly client: SecureChatCompletion;
  /** Disposes the client and closes the router. */
  close(): Promise<void>;
}

/**
 * Starts a test router and a client for it.
 *
 * @param keySize The router's and the client's RSA key size.
 * @param options More client options.
 * @returns The setup (the client's key pair is still being made in the background).
 */
export const startEncrypted = async (
  keySize: 2048 | 4096,
  options: ClientOptions = {},
): Promise<EncryptedSetup> => {
  const router = await startTestRouter({ keySize });
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize,
    maxRetries: 0,
    ...options,
  });
  return {
    router,
    client,
    close: async () => {
      await client.dispose();
      await router.close();
    },
  };
};

/** Throughput of a run with a fixed number of requests in flight. */
export interface Throughput {
  /** Requests in flight. */
  readonly inFlight: number;
  /** Requests completed. */
  readonly completed: number;
  /** Wall time, ms. */
  readonly elapsedMs: number;
  /** Requests per second. */
  readonly rps: number;
  /** Median latency of one request, ms. */
  readonly medianMs: number;
}

/**
 * The median of some numbers.
 *
 * @param values The numbers (not modified).
 * @returns Their median (NaN for none).
 */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Keeps `inFlight` requests running until `durationMs` has passed (requests started before
 * then are awaited), or until `maxRequests` were started.
 *
 * @param op One request.
 * @param inFlight How many run at once.
 * @param durationMs How long new requests are started.
 * @param maxRequests Cap on requests started.
 * @returns The throughput.
 */
export const runInFlight = async (
  op: () => Promise<unknown>,
  inFlight: number,
  durationMs: number,
  maxRequests: number = Number.POSITIVE_INFINITY,
): Promise<Throughput> => {
  const latencies: number[] = [];
  let started = 0;
  const begin = performance.now();
  const deadline = begin + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && started < maxRequests) {
      started++;
      const t = performance.now();
      await op();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedMs = performance.now() - begin;
  return {
    inFlight,
    completed: latencies.length,
    elapsedMs,
    rps: latencies.length / (elapsedMs / 1000),
    medianMs: median(latencies),
  };
};

/**
 * Waits until this process is about idle (under 15 % of one core over 300 ms), so background
 * work (the client makes its next key pair ahead of rotation) does not run inside a
 * measurement.
 *
 * @param maxMs Longest wait.
 * @returns Milliseconds waited.
 */
export const waitForIdle = async (maxMs: number): Promise<number> => {
  const begin = performance.now();
  while (performance.now() - begin < maxMs) {
    const before = process.cpuUsage();
    const t = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const used = process.cpuUsage(before);
    const busy = (used.user + used.system) / 1000 / (performance.now() - t);
    if (busy < 0.15) break;
  }
  return performance.now() - begin;
};
