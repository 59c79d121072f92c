/**
 * The client's `nomyo.*` spans, printed to the console as they end: one option (`tracer`) on
 * the Promise client takes any Effect `Tracer`. This one is a small console tracer made with
 * `Tracer.make` over Effect's own spans; with `@effect/opentelemetry` the same option takes
 * the Tracer it makes from an OpenTelemetry tracer (see the README's "Logging and tracing").
 *
 *   npx --yes deno@2 run --allow-net=127.0.0.1 --allow-read --allow-env examples/tracing.ts
 *
 * Each span prints with its name (`nomyo.create`, `nomyo.key.generate`,
 * `nomyo.router_key.fetch`, `nomyo.seal`, `nomyo.send`, `nomyo.open`), its parent, its duration
 * and its attributes: payload id, model, tier, sizes in bytes, status, attempt, router origin.
 * Never a prompt, an answer, a key or the API key.
 */
import process from "node:process";
import { Effect, Exit, Tracer } from "effect";
import { SecureChatCompletion } from "../mod.ts";
import { startTestRouter, type TestRouter } from "../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined; // no --allow-env
  }
};

/** Effect's native spans, each printed when it ends (an exporter in a dozen lines). */
const consoleTracer = (): Tracer.Tracer => {
  const native = Effect.runSync(Effect.tracer);
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options);
      const end = span.end.bind(span);
      span.end = (endTime, exit) => {
        end(endTime, exit);
        console.log(JSON.stringify({
          name,
          spanId: span.spanId,
          parentId: parent._tag === "Some" ? parent.value.spanId : undefined,
          ms: Number(endTime - startTime) / 1e6,
          ok: Exit.isSuccess(exit),
          attributes: Object.fromEntries(span.attributes),
        }));
      };
      return span;
    },
    context: (f, fiber) => native.context(f, fiber),
  });
};

const baseUrl = env("NOMYO_BASE_URL");
let router: TestRouter | undefined;
if (baseUrl === undefined) router = await startTestRouter();
try {
  await using client = new SecureChatCompletion({
    baseUrl: baseUrl ?? router!.url,
    allowHttp: baseUrl === undefined, // the embedded router is plain HTTP on 127.0.0.1
    keySize: 2048,
    tracer: consoleTracer(),
  });
  const answer = await client.create({
    model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: "Hello" }],
  });
  console.log(answer.choices[0]?.message.content, `(request id ${answer._request_id})`);
} finally {
  await router?.close();
}
