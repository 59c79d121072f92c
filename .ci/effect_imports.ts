/**
 * Finds, or rewrites, imports from the `effect` barrel in library code:
 *
 *   deno run --allow-read .ci/effect_imports.ts --check mod.ts src/        # list them, exit 1 if any
 *   deno run --allow-read --allow-write .ci/effect_imports.ts mod.ts src/  # rewrite them
 *
 * `import { Effect, type Scope } from "effect"` becomes
 * `import * as Effect from "effect/Effect"` and `import type * as Scope from "effect/Scope"`:
 * the same names with the same meaning, so no other line changes. Why: a bundler cannot drop the
 * unused parts of a namespace re-exported by the barrel (`export * as Schema from "./Schema.js"`),
 * so one barrel import keeps every export of that module (Schema keeps fast-check); with the
 * submodule, unused exports are tree-shaken. For the browser page (tests/browser/page.ts, deno
 * bundle --platform browser --minify): 671 KiB, 216 KiB gzipped with the barrel; 354 KiB, 119 KiB
 * gzipped with submodules.
 * Any other form that reaches the barrel (`export … from "effect"`, `import "effect"`,
 * `import("effect")`) is reported in both modes, to be fixed by hand.
 * Doc examples (inside comments) are left alone: they show users the barrel.
 * `@effect/platform`, `@effect/ai` and `effect/<Module>` imports are not the barrel and stay.
 */

/** `import { A, type B, C as D } from "effect";`, on one line or several. */
const BARREL_IMPORT = /^import (type )?\{([^}]*)\} from ["']effect["'];?[ \t]*\n/gm;

/** Any statement that reaches the barrel, rewritable or not (lines in comments do not start so). */
const ANY_BARREL =
  /^[ \t]*(?:(?:import|export)\b[^;"'`]*?\bfrom[ \t]*|import[ \t]*)["']effect["']|\bimport\([ \t]*["']effect["'][ \t]*\)/gm;

/** The submodule imports that replace one barrel import. */
export const splitImport = (typeOnly: string | undefined, names: string): string =>
  names.split(",").map((n) => n.trim()).filter((n) => n.length > 0).map((name) => {
    const isType = typeOnly !== undefined || /^type\s/.test(name);
    const bare = name.replace(/^type\s+/, "");
    const [, module, local] = /^([A-Z][A-Za-z]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(bare) ??
      [];
    if (module === undefined) {
      throw new Error(`Cannot split import: ${bare} is not an effect module name`);
    }
    return `import ${isType ? "type " : ""}* as ${local ?? module} from "effect/${module}";\n`;
  }).join("");

/** What one file becomes, and the barrel statements it kept that need a hand. */
export interface Rewritten {
  readonly text: string;
  readonly rewritten: number;
  readonly unhandled: ReadonlyArray<string>;
}

/**
 * Rewrites every barrel import of `text`; a submodule import the file already has is not added
 * twice.
 */
export const rewrite = (text: string): Rewritten => {
  let rewritten = 0;
  const out = text.replace(BARREL_IMPORT, (_, typeOnly: string | undefined, names: string) => {
    rewritten++;
    return splitImport(typeOnly, names).split(/(?<=\n)/)
      .filter((line) => !text.includes(line)).join("");
  });
  return { text: out, rewritten, unhandled: findBarrel(out) };
};

/** The barrel statements of `text`, rewritable or not. */
export const findBarrel = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(ANY_BARREL)].map((m) => m[0].replace(/\s+/g, " ").trim());

const files = async (path: string): Promise<string[]> => {
  const info = await Deno.stat(path);
  if (info.isFile) return /\.(m|c)?[jt]sx?$/.test(path) ? [path] : [];
  const out: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    out.push(...await files(`${path.replace(/\/+$/, "")}/${entry.name}`));
  }
  return out.sort();
};

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const paths = Deno.args.filter((a) => a !== "--check");
  let found = 0;
  let manual = 0;
  for (const root of paths.length === 0 ? ["mod.ts", "src"] : paths) {
    for (const file of await files(root)) {
      const text = await Deno.readTextFile(file);
      if (check) {
        const barrel = findBarrel(text);
        found += barrel.length;
        for (const statement of barrel) {
          console.log(`${file}: from the effect barrel: ${statement}`);
        }
        continue;
      }
      const result = rewrite(text);
      if (result.rewritten > 0) {
        await Deno.writeTextFile(file, result.text);
        console.log(`${file}: rewrote ${result.rewritten} import(s)`);
      }
      manual += result.unhandled.length;
      for (const statement of result.unhandled) {
        console.log(`${file}: cannot rewrite, fix by hand: ${statement}`);
      }
    }
  }
  if (found > 0) {
    console.log(`${found} barrel import(s): run .ci/effect_imports.ts without --check`);
  }
  if (found > 0 || manual > 0) Deno.exit(1);
}
