/**
 * Which runtime a bench runs on. Runtime-neutral.
 *
 * @module
 */
import process from "node:process";

/**
 * The runtime's name and version.
 *
 * @returns `Deno`, `Bun` or `Node`, and its version.
 */
export const runtimeInfo = (): { readonly name: string; readonly version: string } => {
  const g = globalThis as {
    Deno?: { version: { deno: string; v8: string } };
    Bun?: { version: string };
  };
  if (g.Deno !== undefined) return { name: "Deno", version: g.Deno.version.deno };
  if (g.Bun !== undefined) return { name: "Bun", version: g.Bun.version };
  return { name: "Node", version: process.versions.node ?? "?" };
};
