/**
 * Capturing observability for tests: a logger in openai-node's shape that records each line
 * with its level, and an Effect Tracer that records every span it starts (the native tracer's
 * spans, so parentage, attributes and status are Effect's own).
 */
import { Cause, Effect, Exit, Tracer } from "effect";
import type { NomyoLogger } from "../../src/client/observability.ts";

export interface Line {
  readonly level: "error" | "warn" | "info" | "debug";
  readonly message: string;
  readonly rest: readonly unknown[];
}

export const capturingLogger = (): NomyoLogger & { readonly lines: Line[] } => {
  const lines: Line[] = [];
  const at = (level: Line["level"]) => (message: string, ...rest: unknown[]) => {
    lines.push({ level, message, rest });
  };
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
};

/** Each line as one string, details included (for canary checks). */
export const linesText = (lines: readonly Line[]): string[] =>
  lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.rest)}`);

const native: Tracer.Tracer = Effect.runSync(Effect.tracer);

export const capturingTracer = (): Tracer.Tracer & { readonly spans: Tracer.Span[] } => {
  const spans: Tracer.Span[] = [];
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options);
      spans.push(span);
      return span;
    },
    context: (f, fiber) => native.context(f, fiber),
  });
  return Object.assign(tracer, { spans });
};

/** The spans named `name`. */
export const named = (spans: readonly Tracer.Span[], name: string): Tracer.Span[] =>
  spans.filter((s) => s.name === name);

/** A span's parent span id, or undefined for a root. */
export const parentId = (span: Tracer.Span): string | undefined =>
  span.parent._tag === "Some" ? span.parent.value.spanId : undefined;

/**
 * Everything an exporter could send of every span, as strings (for canary checks): its name,
 * attributes, events (log lines become span events) and how it ended (what an exporter puts in
 * the span's status).
 */
export const spanTexts = (spans: readonly Tracer.Span[]): string[] =>
  spans.flatMap((s) => {
    const events = (s as { events?: ReadonlyArray<readonly [string, bigint, unknown]> }).events ??
      [];
    return [
      s.name,
      ...[...s.attributes].map(([k, v]) => `${k}=${String(v)}`),
      ...events.map(([name, , attributes]) => `${name} ${JSON.stringify(attributes)}`),
      s.status._tag === "Ended" && Exit.isFailure(s.status.exit)
        ? Cause.pretty(s.status.exit.cause)
        : "",
    ];
  });
