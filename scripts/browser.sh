#!/usr/bin/env bash
# What the console's browser test (tests/tests/console_browser.rs) needs: Debian's chromium and
# chromium-driver (headless Chromium driven through WebDriver), installed with apt-get as root the
# way scripts/sam-docker.sh installs its packages. Idempotent: nothing to do when chromedriver is there.
# CONSOLE_BROWSER_TESTS=0 lets a machine without them skip the test, saying so (docs/console.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p .local

fail() {
  echo "browser: $*" >&2
  exit 1
}

if command -v chromedriver > /dev/null || [ -x /usr/bin/chromedriver ]; then
  echo "browser: $( (chromedriver --version || /usr/bin/chromedriver --version) 2> /dev/null | head -n 1)"
  exit 0
fi
if [ "${CONSOLE_BROWSER_TESTS:-}" = 0 ]; then
  echo "browser: chromium-driver is not installed and CONSOLE_BROWSER_TESTS=0: the console's browser test will skip"
  exit 0
fi
missing=(chromium chromium-driver)
if [ "$(id -u)" != 0 ]; then
  fail "the console's browser test needs Debian's ${missing[*]}, which only root can install.
  Run as root (sudo make test), install them first (sudo apt-get install -y ${missing[*]}),
  or set CONSOLE_BROWSER_TESTS=0 to skip that test."
fi
command -v apt-get > /dev/null || fail "needs ${missing[*]}, and this is not a Debian system (no apt-get); set CONSOLE_BROWSER_TESTS=0 to skip."
echo "== apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# sam-docker.sh may be installing its own packages at the same time: wait for dpkg's lock.
apt_install() { apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" > .local/browser-apt.log 2>&1; }
apt_install \
  || { apt-get -o DPkg::Lock::Timeout=600 update > /dev/null 2>&1 && apt_install; } \
  || { tail -n 20 .local/browser-apt.log; fail "apt-get install ${missing[*]} failed (log: .local/browser-apt.log)"; }
echo "browser: $(chromedriver --version | head -n 1)"
