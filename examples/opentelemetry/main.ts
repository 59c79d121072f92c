/**
 * The client's `nomyo.*` spans exported with the OpenTelemetry SDK's `ConsoleSpanExporter`: an
 * OpenTelemetry tracer, made an Effect `Tracer` by `@effect/opentelemetry`, given to the Promise
 * client as its one `tracer` option. The OpenTelemetry packages are this example's own (its
 * `deno.json`, next to it, pins one `effect@3` for them and the client); `@nomyo/client`
 * depends on neither.
 *
 *   npx --yes deno@2 run --config examples/opentelemetry/deno.json \
 *     --allow-net=127.0.0.1 --allow-read --allow-env examples/opentelemetry/main.ts
 *
 * Without NOMYO_BASE_URL it starts the embedded test router on 127.0.0.1.
 */
import process from "node:process";
import * as OtelTracer from "@effect/opentelemetry/Tracer";
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import * as Effect from "effect/Effect";
import { SecureChatCompletion } from "../../mod.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined; // no --allow-env
  }
};

// OpenTelemetry: a provider that prints every span as it ends.
const provider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
});
// Effect: a Tracer over the OpenTelemetry tracer.
const tracer = await Effect.runPromise(
  OtelTracer.make.pipe(
    Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("nomyo-example")),
  ),
);

const baseUrl = env("NOMYO_BASE_URL");
let router: TestRouter | undefined;
if (baseUrl === undefined) router = await startTestRouter();
try {
  await using client = new SecureChatCompletion({
    baseUrl: baseUrl ?? router!.url,
    allowHttp: baseUrl === undefined, // the embedded router is plain HTTP on 127.0.0.1
    keySize: 2048,
    tracer,
  });
  const answer = await client.create({
    model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: "Hello" }],
  });
  console.log(answer.choices[0]?.message.content, `(request id ${answer._request_id})`);
} finally {
  await provider.shutdown();
  await router?.close();
}
