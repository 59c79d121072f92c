#!/usr/bin/env bash
# The npm packages as a user receives them (issue 18): one phase per call, so that .ci/run counts
# each as a step. Every phase works in WORK (a directory of its own) and is bounded in time;
# a failure says which command failed and shows its output.
#
#   .ci/npm_package.sh build WORK            deno task build:npm (@nomyo/client in dist/npm/,
#                                            @nomyo/effect4 in dist/npm-effect4/), then publint
#                                            and attw (esm-only) of each
#   .ci/npm_package.sh install WORK [APP]    npm pack; a fresh project installs the tarball(s)
#                                            with its own Effect from the npm registry, and holds
#                                            the copies of Effect it must (npm query)
#   .ci/npm_package.sh typecheck WORK [APP]  tsc --strict of the app against the packages' .d.ts
#   .ci/npm_package.sh run WORK RT [APP]     the compiled app under RT: node (the PATH's),
#                                            node24 or bun
#
# APP is `effect3` (default): tests/npm/app.ts, an Effect 3 app with effect@3, @effect/platform
# and @effect/ai (the optional peer), which must share ONE effect and ONE @effect/platform with
# the client; or `effect4`: packages/effect4/tests/npm_app.ts, an Effect 4 app with effect@4 and
# @nomyo/effect4, which must share the app's one Effect 4 (the client keeps its own Effect 3).
#
# Versions of the tools are pinned here; the apps' Effect packages are whatever the registry
# gives a user today.
set -uo pipefail
cd "$(dirname "$0")/.."

TYPESCRIPT=typescript@5.9.3
TYPES_NODE=@types/node@20.19.43
PUBLINT=publint@0.3.25
ATTW=@arethetypeswrong/cli@0.18.5

phase=${1:-}
work=${2:-}
if [ -z "$phase" ] || [ -z "$work" ]; then
  echo "npm: usage: $0 build|install|typecheck WORK [effect3|effect4]"
  echo "       $0 run WORK node|node24|bun [effect3|effect4]"
  exit 2
fi
if [ "$phase" = run ]; then app_kind=${4:-effect3}; else app_kind=${3:-effect3}; fi
case "$app_kind" in
  effect3) app_source=tests/npm/app.ts ;;
  effect4) app_source=packages/effect4/tests/npm_app.ts ;;
  *) echo "npm: unknown app '$app_kind' (effect3 or effect4)"; exit 2 ;;
esac
mkdir -p "$work"
app="$work/app-$app_kind"

# Runs a command with a deadline; on failure prints the command, why, and its output's tail.
bounded() {
  local seconds=$1
  shift
  local out="$work/last.log"
  local rc=0
  timeout -k 10 "$seconds" "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    cat "$out"
    return 0
  fi
  tail -n 60 "$out"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "npm: '$*' did not finish within $seconds s"
  else
    echo "npm: '$*' failed with exit code $rc (output above)"
  fi
  return 1
}

build() {
  bounded 900 npx --yes deno@2 task build:npm || return 1
  local out
  for out in dist/npm dist/npm-effect4; do
    bounded 300 npx --yes "$PUBLINT" --strict "$out" || return 1
    # esm-only: the packages are ESM; node10 and CommonJS `require` resolution are not offered.
    bounded 300 npx --yes "$ATTW" --pack "$out" --profile esm-only --format ascii || return 1
  done
}

# `npm pack` of a built package into $work/tarballs; prints the tarball's path.
pack() {
  [ -f "$1/package.json" ] || { echo "npm: $1/ is missing: run the build phase first" >&2; return 1; }
  mkdir -p "$work/tarballs"
  local name
  name=$(timeout -k 10 300 npm pack --silent --pack-destination "$work/tarballs" "./$1" | tail -n 1)
  [ -n "$name" ] && [ -f "$work/tarballs/$name" ] ||
    { echo "npm: npm pack $1 wrote no tarball" >&2; return 1; }
  echo "npm: $name, $(du -k "$work/tarballs/$name" | cut -f1) KiB packed" >&2
  echo "$work/tarballs/$name"
}

# "path version" of every installed copy of package $1 in the app, one per line.
copies() {
  (cd "$app" && timeout -k 10 120 npm query "[name=\"$1\"]") | node -e '
    let s = "";
    process.stdin.on("data", (d) => s += d).on("end", () => {
      const seen = new Map(JSON.parse(s).map((p) => [p.path, p.version]));
      for (const [path, version] of seen) console.log(`${path} ${version}`);
    });'
}

install_effect3() {
  local client=$1
  (cd "$app" && bounded 600 npm install --no-audit --no-fund "$client" effect@3 @effect/platform \
    @effect/ai "$TYPESCRIPT" "$TYPES_NODE") || return 1
  (cd "$app" && timeout -k 10 120 npm ls effect @effect/platform --all) || { echo "npm: npm ls reports a problem"; return 1; }
  local name found
  for name in effect @effect/platform; do
    found=$(copies "$name") || return 1
    if [ "$(grep -c . <<<"$found")" != "1" ]; then
      printf 'npm: copies of %s installed:\n%s\n' "$name" "$found"
      echo "npm: not one: the app and the client must share it"
      return 1
    fi
    echo "npm: one $name: $found"
  done
}

install_effect4() {
  local client=$1 effect4
  effect4=$(pack dist/npm-effect4) || return 1
  (cd "$app" && bounded 600 npm install --no-audit --no-fund "$client" "$effect4" effect@4 \
    "$TYPESCRIPT" "$TYPES_NODE") || return 1
  (cd "$app" && timeout -k 10 120 npm ls effect --all) || { echo "npm: npm ls reports a problem"; return 1; }
  local found
  found=$(copies effect) || return 1
  printf 'npm: copies of effect installed:\n%s\n' "$found"
  if ! grep -qE "^$app/node_modules/effect 4\." <<<"$found"; then
    echo "npm: the app's node_modules/effect is not Effect 4"
    return 1
  fi
  if [ "$(grep -cE ' 4\.' <<<"$found")" != "1" ]; then
    echo "npm: more than one Effect 4: the app and @nomyo/effect4 must share one"
    return 1
  fi
  echo "npm: one Effect 4, shared by the app and @nomyo/effect4"
}

install() {
  rm -rf "$app"
  mkdir -p "$app"
  local client
  client=$(pack dist/npm) || return 1
  printf '{ "name": "nomyo-npm-app-%s", "private": true, "type": "module" }\n' "$app_kind" \
    >"$app/package.json"
  "install_$app_kind" "$client"
}

typecheck() {
  [ -d "$app/node_modules/@nomyo/client" ] ||
    { echo "npm: no installed package: run the install phase first"; return 1; }
  mkdir -p "$app/src"
  cp "$app_source" "$app/src/app.ts"
  # Strict, and the packages' declarations checked too (no skipLibCheck). "DOM" for WebCrypto's
  # CryptoKey type, which the public types name and @types/node does not declare as a type.
  cat >"$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true,
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023", "DOM"],
    "types": ["node"],
    "skipLibCheck": false,
    "outDir": "out",
    "rootDir": "src"
  },
  "files": ["src/app.ts"]
}
JSON
  (cd "$app" && bounded 300 npx --no-install tsc --strict -p tsconfig.json) || return 1
  [ -f "$app/out/app.js" ] || { echo "npm: tsc wrote no out/app.js"; return 1; }
}

run_app() {
  local runtime=${1:-}
  [ -f "$app/out/app.js" ] || { echo "npm: no compiled app: run the typecheck phase first"; return 1; }
  local -a cmd
  case "$runtime" in
    node) cmd=(node) ;;
    node24) cmd=(npx --yes node@24) ;;
    bun) cmd=(npx --yes bun@1) ;;
    *) echo "npm: unknown runtime '$runtime' (node, node24 or bun)"; return 2 ;;
  esac
  # The app talks to its own test router only.
  (cd "$app" && bounded 300 env -u NOMYO_BASE_URL -u NOMYO_API_KEY "${cmd[@]}" out/app.js) || return 1
  grep -q '^npm app: ok' "$work/last.log" || { echo "npm: the app did not report ok"; return 1; }
}

case "$phase" in
  build) build ;;
  install) install ;;
  typecheck) typecheck ;;
  run) run_app "${3:-}" ;;
  *) echo "npm: unknown phase '$phase'"; exit 2 ;;
esac
