import assert from "node:assert/strict";
import { findBarrel, rewrite, splitImport } from "../../.ci/effect_imports.ts";

Deno.test("splitImport() keeps type-only names type-only and honours aliases", () => {
  assert.equal(
    splitImport(undefined, " Effect, type Scope, Schema as S, "),
    'import * as Effect from "effect/Effect";\n' +
      'import type * as Scope from "effect/Scope";\n' +
      'import * as S from "effect/Schema";\n',
  );
  assert.equal(splitImport("type ", "Effect"), 'import type * as Effect from "effect/Effect";\n');
});

Deno.test("splitImport() refuses a name that is not an effect module", () => {
  assert.throws(() => splitImport(undefined, "pipe"), /Cannot split import: pipe/);
  assert.throws(() => splitImport(undefined, "Effect as"), /Cannot split import/);
});

Deno.test("rewrite() splits one-line and multi-line imports and leaves others alone", () => {
  const source = [
    'import * as HttpClient from "@effect/platform/HttpClient";',
    'import { Effect, type Scope } from "effect";',
    "import {",
    "  Layer,",
    "  Option,",
    '} from "effect";',
    'import * as AiError from "@effect/ai/AiError";',
    "/**",
    ' * import { Effect } from "effect";',
    " */",
    "",
  ].join("\n");
  const { text, rewritten, unhandled } = rewrite(source);
  assert.equal(rewritten, 2);
  assert.deepEqual(unhandled, []);
  assert.equal(
    text,
    [
      'import * as HttpClient from "@effect/platform/HttpClient";',
      'import * as Effect from "effect/Effect";',
      'import type * as Scope from "effect/Scope";',
      'import * as Layer from "effect/Layer";',
      'import * as Option from "effect/Option";',
      'import * as AiError from "@effect/ai/AiError";',
      "/**",
      ' * import { Effect } from "effect";',
      " */",
      "",
    ].join("\n"),
  );
  assert.deepEqual(findBarrel(text), []);
});

Deno.test("rewrite() does not add a submodule import the file already has", () => {
  const source =
    'import * as Effect from "effect/Effect";\nimport { Effect, Stream } from "effect";\n';
  assert.equal(
    rewrite(source).text,
    'import * as Effect from "effect/Effect";\nimport * as Stream from "effect/Stream";\n',
  );
});

Deno.test("findBarrel() reports every form that reaches the barrel, rewrite() the ones it cannot fix", () => {
  const source = [
    'export { Effect } from "effect";',
    "export * from 'effect';",
    'import "effect";',
    'const lazy = () => import("effect");',
    'import * as all from "effect";',
    'import { Schema } from "effect/Schema";',
    'const name = "effect";',
    "",
  ].join("\n");
  const expected = [
    'export { Effect } from "effect"',
    "export * from 'effect'",
    'import "effect"',
    'import("effect")',
    'import * as all from "effect"',
  ];
  assert.deepEqual(findBarrel(source), expected);
  const { rewritten, unhandled } = rewrite(source);
  assert.equal(rewritten, 0);
  assert.deepEqual(unhandled, expected);
});
