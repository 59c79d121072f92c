/**
 * Memory held while reading hostile bodies: peak RSS growth of a client process (Deno) while a
 * router drips one byte per millisecond for the whole timeout, and while it sends a gzip bomb,
 * against `maxResponseBytes`. The client runs in a child process (`--child`) so that its RSS is
 * its own; the servers run here. Public API only, so it also runs on older versions.
 *
 *   npx --yes deno@2 run -A bench/edge_memory.ts [--seconds 20] [--cap-mib 64] [--bomb-mib 1]
 *
 * @module
 */
import { SecureChatCompletion } from "../mod.ts";
import { startTestRouter } from "../src/testing/mod.ts";

const arg = (name: string, fallback: string): string => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1]! : fallback;
};
const MIB = 1024 * 1024;

/** The child: one client, a warm-up request, then the hostile request, sampling RSS. */
const child = async (url: string, timeoutMs: number, capBytes: number) => {
  const client = new SecureChatCompletion({
    baseUrl: url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
    timeout: timeoutMs,
    maxResponseBytes: capBytes,
  });
  const ask = { model: "m", messages: [{ role: "user", content: "hi" }] };
  // Warm-up: the key is fetched and cached, the code paths run once (the router answers 400).
  await client.create(ask).catch(() => undefined);
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  const forceGc = Deno.env.get("EDGE_MEMORY_GC") === "1";
  const sampler = setInterval(() => {
    // Diagnostic only: with a GC every 10 ms, what remains is what is held, not GC slack.
    if (forceGc) (globalThis as { gc?: () => void }).gc?.();
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  const outcome = await client.create(ask).then(
    () => "success",
    (e) => `${e?.constructor?.name}: ${String(e?.message).slice(0, 80)}`,
  );
  clearInterval(sampler);
  peak = Math.max(peak, Deno.memoryUsage().rss);
  await client.dispose();
  console.log(JSON.stringify({
    baselineMiB: baseline / MIB,
    peakGrowthMiB: (peak - baseline) / MIB,
    seconds: (performance.now() - started) / 1000,
    outcome,
  }));
};

/** About `targetBytes` of gzip that expands to zeros (~1000:1). */
const gzipBomb = async (
  targetBytes: number,
): Promise<{ body: Uint8Array<ArrayBuffer>; expands: number }> => {
  const zeros = new Uint8Array(MIB);
  const parts: Uint8Array[] = [];
  let size = 0;
  let expands = 0;
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const reading = (async () => {
    for await (const chunk of stream.readable) {
      parts.push(chunk);
      size += chunk.length;
    }
  })();
  while (size < targetBytes) {
    await writer.write(zeros);
    expands += zeros.length;
    // Let the compressor emit output so `size` moves.
    await new Promise((r) => setTimeout(r, 0));
  }
  await writer.close();
  await reading;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    body.set(p, offset);
    offset += p.length;
  }
  return { body, expands };
};

const parent = async () => {
  const seconds = Number(arg("seconds", "20"));
  const capMiB = Number(arg("cap-mib", "64"));
  const bombMiB = Number(arg("bomb-mib", "1"));
  const router = await startTestRouter();
  const bomb = await gzipBomb(bombMiB * MIB);
  let scenario = "drip";
  let first = true;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/pki/public_key") return new Response(router.publicKeyPem);
    if (first) {
      first = false;
      return Response.json({ detail: "warm-up" }, { status: 400 });
    }
    if (scenario === "gzip") {
      return new Response(bomb.body, {
        headers: { "content-encoding": "gzip", "content-type": "application/json" },
      });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Response(
      new ReadableStream({
        pull: (c) =>
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              c.enqueue(new Uint8Array([0x20]));
              resolve();
            }, 1);
          }),
        cancel: () => clearTimeout(timer),
      }),
      { headers: { "content-type": "application/json" } },
    );
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const run = async (name: string, timeoutMs: number) => {
    scenario = name;
    first = true;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        import.meta.filename!,
        "--child",
        url,
        String(timeoutMs),
        String(capMiB * MIB),
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "{}";
    return JSON.parse(line) as { peakGrowthMiB: number; seconds: number; outcome: string };
  };
  const drip = await run("drip", seconds * 1000);
  const gzip = await run("gzip", 60_000);
  const mib = (n: number, digits = 1) => `${n.toFixed(digits)} MiB`;
  const bombName = `gzip bomb, ${mib(bomb.body.length / MIB, 2)} → ${mib(bomb.expands / MIB, 0)}`;
  console.log(`Deno ${Deno.version.deno}; maxResponseBytes ${capMiB} MiB\n`);
  console.log("| scenario | peak RSS growth | time | outcome |");
  console.log("|---|---:|---:|---|");
  for (
    const [name, r] of [
      [`1 byte / ms drip for the whole ${seconds} s timeout`, drip],
      [bombName, gzip],
    ] as const
  ) {
    console.log(`| ${name} | ${mib(r.peakGrowthMiB)} | ${r.seconds.toFixed(1)} s | ${r.outcome} |`);
  }
  await server.shutdown();
  await router.close();
};

if (Deno.args[0] === "--child") {
  await child(Deno.args[1]!, Number(Deno.args[2]), Number(Deno.args[3]));
} else {
  await parent();
}
