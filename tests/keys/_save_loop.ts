/**
 * Child process of the crash test: loads the extractable key pairs saved under the source
 * directories given as arguments, then saves them, in turn, into the target directory (the
 * first argument) for ever, printing "saving" once before the first save. The parent kills it
 * with SIGKILL at a random point.
 */
import { Effect } from "effect";
import { layerSecureBytes } from "../../src/crypto/secure_bytes.ts";
import { loadKeyPair, saveKeyPair } from "../../src/keys/key_files.ts";

const [target, ...sources] = Deno.args;
if (target === undefined || sources.length === 0) throw new TypeError("usage: target source...");
const pairs = await Promise.all(sources.map((dir) =>
  Effect.runPromise(
    loadKeyPair(`${dir}/private_key.pem`, { extractable: true }).pipe(
      Effect.provide(layerSecureBytes),
    ),
  )
));
await Deno.stdout.write(new TextEncoder().encode("saving\n"));
for (let i = 0;; i++) {
  const pair = pairs[i % pairs.length]!;
  // Encrypted (the loader needs to know the password), with a low PBKDF2 count for speed.
  const options = { password: "crash-test-password", iterations: 1000 };
  await Effect.runPromise(
    saveKeyPair(pair, target, options).pipe(Effect.provide(layerSecureBytes)),
  );
}
