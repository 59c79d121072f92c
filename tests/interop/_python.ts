/**
 * The Python scripts of this folder (python3 with `cryptography`: see `PYTHON_MISSING` in
 * tests/_tools.ts).
 */

/** The path of a file next to this module. */
export const here = (name: string): string =>
  decodeURIComponent(new URL(`./${name}`, import.meta.url).pathname);
