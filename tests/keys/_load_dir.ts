/**
 * Child process of the crash test: a fresh process starting on key directories, as a client
 * with `keyDir` does. For each line `<dir>` on stdin it loads `<dir>` and prints one JSON line:
 * the loaded key's fingerprint, or the error. Run with `--allow-run` so that it can tell that a
 * killed saver is gone.
 */
import { Cause, Effect, Exit, Option } from "effect";
import { layerSecureBytes } from "../../src/crypto/secure_bytes.ts";
import { loadOrCreateKeyPair } from "../../src/keys/key_files.ts";

const [password] = Deno.args;
if (password === undefined) throw new TypeError("usage: password < dirs");
const utf8 = new TextEncoder();
let pending = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  pending += chunk;
  let newline: number;
  while ((newline = pending.indexOf("\n")) !== -1) {
    const dir = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    const exit = await Effect.runPromiseExit(
      loadOrCreateKeyPair(dir, { password, bits: 2048 }).pipe(Effect.provide(layerSecureBytes)),
    );
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none();
    const line = Exit.isSuccess(exit)
      ? { fingerprint: exit.value.publicKey.fingerprint }
      : { error: Option.isSome(failure) ? failure.value.message : "defect" };
    await Deno.stdout.write(utf8.encode(`${JSON.stringify(line)}\n`));
  }
}
