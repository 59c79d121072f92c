#!/usr/bin/env bash
# The npm package as a user receives it (issue 18): one phase per call, so that .ci/run counts
# each as a step. Every phase works in WORK (a directory of its own) and is bounded in time;
# a failure says which command failed and shows its output.
#
#   .ci/npm_package.sh build WORK      deno task build:npm, then publint and attw (esm-only)
#   .ci/npm_package.sh install WORK    npm pack; a fresh project installs the tarball with its own
#                                      effect@3, @effect/platform and @effect/ai (the optional
#                                      peer) from the npm registry; exactly one effect and one
#                                      @effect/platform in it (npm query)
#   .ci/npm_package.sh typecheck WORK  tsc --strict of tests/npm/app.ts against the package's .d.ts
#   .ci/npm_package.sh run WORK RT     the compiled app under RT: node (the PATH's), node24, bun
#
# Versions of the tools are pinned here; effect@3 and @effect/platform are whatever the registry
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
  echo "npm: usage: $0 build|install|typecheck|run WORK [node|node24|bun]"
  exit 2
fi
mkdir -p "$work"
app="$work/app"

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
  bounded 300 npx --yes "$PUBLINT" --strict dist/npm || return 1
  # esm-only: the package is ESM; node10 and CommonJS `require` resolution are not offered.
  bounded 300 npx --yes "$ATTW" --pack dist/npm --profile esm-only --format ascii || return 1
}

install() {
  [ -f dist/npm/package.json ] || { echo "npm: dist/npm/ is missing: run the build phase first"; return 1; }
  rm -rf "$app" "$work"/*.tgz
  mkdir -p "$app"
  bounded 300 npm pack --pack-destination "$work" ./dist/npm || return 1
  local tarball
  tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
  [ -n "$tarball" ] || { echo "npm: npm pack wrote no tarball"; return 1; }
  echo "npm: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) KiB packed"
  printf '{ "name": "nomyo-npm-app", "private": true, "type": "module" }\n' >"$app/package.json"
  (cd "$app" && bounded 600 npm install --no-audit --no-fund "$tarball" effect@3 @effect/platform \
    @effect/ai "$TYPESCRIPT" "$TYPES_NODE") || return 1
  (cd "$app" && npm ls effect @effect/platform --all) || { echo "npm: npm ls reports a problem"; return 1; }
  local name count
  for name in effect @effect/platform; do
    count=$(cd "$app" && npm query "[name=\"$name\"]" | node -e \
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(new Set(JSON.parse(s).map(p=>p.path)).size))')
    if [ "$count" != "1" ]; then
      echo "npm: $count copies of $name installed, not one: the app and the client must share it"
      return 1
    fi
    echo "npm: one $name ($(cd "$app" && node -p "require('$name/package.json').version"))"
  done
}

typecheck() {
  [ -d "$app/node_modules/@nomyo/client" ] || { echo "npm: no installed package: run the install phase first"; return 1; }
  mkdir -p "$app/src"
  cp tests/npm/app.ts "$app/src/app.ts"
  # Strict, and the package's declarations checked too (no skipLibCheck). "DOM" for WebCrypto's
  # CryptoKey type, which the public types name and @types/node does not declare as a type.
  cat >"$app/tsconfig.json" <<'EOF'
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
EOF
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
