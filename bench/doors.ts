/**
 * What each door costs on top of `create()`: the same request through the same client and the
 * same in-process test router (RSA-4096 both ends), one door after another in alternating
 * rounds, medians reported with their ratio to `create()` measured in the same rounds.
 *
 * - `create()`: `SecureChatCompletion.create(request)`, the baseline;
 * - `create({ stream: true })`: the streaming shape, every chunk consumed;
 * - `client.fetch` via openai-node: `openai.chat.completions.create()` with `fetch: client.fetch`
 *   (openai v7 declares Node ≥ 22; it runs on Node 20 here, and where it does not load the door
 *   is reported as skipped, with the reason);
 * - the proxy over HTTP: `serveProxy({ handler: client.fetch })`, then a plain `fetch` to it.
 *
 * Runtime-neutral; `run_all.ts` bundles it for Node and Bun (as `cross_runtime.ts`). Prints
 * progress on stderr and one `RESULT {json}` line on stdout.
 *
 * ```sh
 * deno run --allow-read --allow-net=127.0.0.1 --allow-env --allow-sys bench/doors.ts [--quick]
 * ```
 *
 * @module
 */
import process from "node:process";
import { requestOfSize, type Size } from "./_fixtures.ts";
import { median, startEncrypted } from "./_round_trip.ts";
import { runtimeInfo } from "./_runtime.ts";
import { serveProxy } from "../src/proxy/proxy.ts";

const quick = process.argv.includes("--quick");
const log = (line: string): void => {
  process.stderr.write(`[${runtimeInfo().name}] ${line}\n`);
};

/** One way into the client: a request of the given text, fully consumed. */
type Door = () => Promise<void>;

const SIZES: ReadonlyArray<Size> = [
  { label: "1 KiB", bytes: 1024 },
  { label: "64 KiB", bytes: 64 * 1024 },
];

interface OpenAiLike {
  readonly chat: {
    readonly completions: {
      create(body: unknown): Promise<{ choices: Array<{ message: { content: string | null } }> }>;
    };
  };
}

/** openai-node, or why it cannot run here. */
const loadOpenAi = async (
  fetch: typeof globalThis.fetch,
): Promise<OpenAiLike | string> => {
  try {
    const { default: OpenAI } = await import("npm:openai@7");
    return new OpenAI({
      baseURL: "https://nomyo.invalid/v1",
      apiKey: "unused",
      maxRetries: 0,
      fetch,
    }) as unknown as OpenAiLike;
  } catch (error) {
    return `openai-node does not load: ${error instanceof Error ? error.message : String(error)}`;
  }
};

const main = async (): Promise<void> => {
  const enc = await startEncrypted(4096, { keyRotationInterval: 0 });
  const proxy = await serveProxy({ handler: enc.client.fetch, port: 0 });
  const openai = await loadOpenAi(enc.client.fetch);
  const budget = quick ? 2500 : 8000;
  const sizes = [];
  try {
    for (const size of SIZES) {
      const { request } = requestOfSize(size.bytes);
      const want = `Echo: ${(request.messages[1] as { content: string }).content}`;
      const expect = (content: unknown, door: string): void => {
        if (content !== want) throw new Error(`Cannot bench ${door}: the answer differs`);
      };
      const doors: Array<[string, Door]> = [
        ["create()", async () => {
          const answer = await enc.client.create(request);
          expect(answer.choices[0]?.message.content, "create()");
        }],
        ["create({ stream: true })", async () => {
          let text = "";
          for await (const chunk of await enc.client.create({ ...request, stream: true })) {
            text += chunk.choices[0]?.delta.content ?? "";
          }
          expect(text, "the streaming shape");
        }],
        ["proxy over HTTP", async () => {
          const response = await fetch(`${proxy.url}/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(request),
          });
          const answer = await response.json() as {
            choices: Array<{ message: { content: string } }>;
          };
          expect(answer.choices[0]?.message.content, "the proxy");
        }],
      ];
      if (typeof openai !== "string") {
        doors.push(["client.fetch via openai-node", async () => {
          const answer = await openai.chat.completions.create(request);
          expect(answer.choices[0]?.message.content, "openai-node");
        }]);
      }
      // Warm-up, then rounds in rotating order so that drift hits every door alike.
      for (let i = 0; i < 5; i++) for (const [, door] of doors) await door();
      const times = doors.map((): number[] => []);
      const begin = performance.now();
      let rounds = 0;
      while (rounds < 8 || (performance.now() - begin < budget && rounds < 400)) {
        for (let k = 0; k < doors.length; k++) {
          const i = (k + rounds) % doors.length;
          const t = performance.now();
          await doors[i]![1]();
          times[i]!.push(performance.now() - t);
        }
        rounds++;
      }
      const baseline = median(times[0]!);
      const results = doors.map(([name], i) => {
        const ms = median(times[i]!);
        return { door: name, medianMs: ms, ratio: ms / baseline };
      });
      if (typeof openai === "string") {
        results.push({ door: "client.fetch via openai-node", medianMs: NaN, ratio: NaN });
      }
      log(
        `${size.label}: ${
          results.map((r) => `${r.door} ${r.medianMs.toFixed(2)} ms ×${r.ratio.toFixed(2)}`)
            .join(", ")
        } (${rounds} rounds)`,
      );
      sizes.push({ size: size.label, rounds, doors: results });
    }
  } finally {
    await proxy.close();
    await enc.close();
  }
  if (typeof openai === "string") log(openai);
  process.stdout.write(
    `RESULT ${
      JSON.stringify({
        runtime: runtimeInfo(),
        quick,
        result: {
          mode: "doors",
          sizes,
          ...(typeof openai === "string" ? { skipped: openai } : {}),
        },
      })
    }\n`,
  );
};

await main();
