/**
 * The folders of `src/` are layers: a file may import its own folder and the layers below it,
 * never a layer above (nor a sibling of the same rank). The core owns the rules; the doors
 * (`openai/`, `promise/`, `effect_ai/`, `proxy/`) sit above it and only translate.
 */
import assert from "node:assert/strict";

/** Rank of each folder of `src/` (`.` is `src/errors.ts`). Equal ranks may not import each other. */
export const LAYERS: Readonly<Record<string, number>> = {
  ".": 0,
  protocol: 1,
  crypto: 2,
  keys: 3,
  attestation: 4,
  transport: 5,
  server: 5,
  client: 6,
  openai: 6,
  testing: 6,
  promise: 7,
  effect_ai: 7,
  proxy: 8,
  tools: 8,
};

const src = new URL("../../src/", import.meta.url);

/** Every `.ts` file under `src/`, as a path relative to it. */
const sourceFiles = async (dir = src, prefix = ""): Promise<string[]> => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) {
      files.push(...await sourceFiles(new URL(`${entry.name}/`, dir), `${path}/`));
    } else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
};

/** The relative module specifiers of a file (static imports, re-exports, dynamic imports). */
export const relativeImports = (text: string): string[] =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);

/** The folder of `src/` a path relative to `src/` is in (`.` for top-level files). */
const folderOf = (path: string): string =>
  path.includes("/") ? path.slice(0, path.indexOf("/")) : ".";

/** The violations of the layering in a set of files: `from → to` lines. */
export const violations = (files: ReadonlyMap<string, string>): string[] => {
  const found: string[] = [];
  for (const [path, text] of files) {
    const from = folderOf(path);
    for (const specifier of relativeImports(text)) {
      const target = new URL(specifier, new URL(path, "file:///src/")).pathname.replace(
        /^\/src\//,
        "",
      );
      const to = folderOf(target);
      if (to === from) continue;
      const rankFrom = LAYERS[from];
      const rankTo = LAYERS[to];
      if (rankFrom === undefined || rankTo === undefined || rankTo >= rankFrom) {
        found.push(`${path} → ${target}`);
      }
    }
  }
  return found;
};

Deno.test("every folder of src/ has a layer", async () => {
  const folders = new Set((await sourceFiles()).map(folderOf));
  const unranked = [...folders].filter((f) => LAYERS[f] === undefined);
  assert.deepEqual(unranked, []);
});

Deno.test("no file of src/ imports a layer above its own, or a sibling layer", async () => {
  const files = new Map<string, string>();
  for (const path of await sourceFiles()) {
    files.set(path, await Deno.readTextFile(new URL(path, src)));
  }
  assert.deepEqual(violations(files), []);
});

Deno.test("the layering check catches an upward import and a sibling import", () => {
  const files = new Map([
    ["proxy/cli.ts", 'import { x } from "../promise/a.ts";'],
    ["client/a.ts", 'import { y } from "../promise/b.ts";'],
    ["openai/b.ts", 'export { z } from "../client/c.ts";'],
    ["keys/d.ts", 'const m = await import("../transport/e.ts");'],
  ]);
  assert.deepEqual(violations(files), [
    "client/a.ts → promise/b.ts",
    "openai/b.ts → client/c.ts",
    "keys/d.ts → transport/e.ts",
  ]);
});
