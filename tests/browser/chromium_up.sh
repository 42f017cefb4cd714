#!/usr/bin/env bash
# Make Debian's chromium available for the browser tests: installs the `chromium` package with
# apt-get when /usr/bin/chromium is missing (root; `apt-get update` first only if the install
# fails), then prints the path of the binary. Nothing downloads a browser build of its own.
# Exits non-zero with the apt log when it cannot install: the tests fail, they do not skip.
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$bin" ]]; then
  log=$(mktemp -t chromium_apt.XXXXXX.log)
  echo "installing Debian's chromium (missing: $bin); log: $log" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium >"$log" 2>&1 \
    || { apt-get update >>"$log" 2>&1 && apt-get install -y --no-install-recommends chromium >>"$log" 2>&1; } \
    || { cat "$log" >&2; echo "chromium_up: could not install chromium with apt-get (root needed)" >&2; exit 1; }
fi
[[ -x "$bin" ]] || { echo "chromium_up: $bin still missing after the install" >&2; exit 1; }
"$bin" --headless --no-sandbox --version >/dev/null 2>&1 \
  || { echo "chromium_up: $bin does not start: $("$bin" --headless --no-sandbox --version 2>&1 | tail -n 3)" >&2; exit 1; }
echo "$bin"
