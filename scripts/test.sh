#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite.
#   bash scripts/test.sh [pytest args]
# The suite runs in parallel pytest-xdist workers (DRIFTWARDEN_TEST_WORKERS, default 3);
# pytest args after it win: `bash scripts/test.sh -n 0` runs serially.
# Creates .venv if missing, installs driftwarden with its test extras, installs the
# Debian packages of the real services the integration tests start (when running as
# root with apt-get), then runs pytest. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the UI tests drive it with Playwright (never `playwright install`).
APT_PACKAGES=(prometheus prometheus-alertmanager prometheus-pushgateway chromium)

# Stop a Debian service through its init script, else by the pid it recorded; never by a
# process-name pattern (that could end someone else's process of the same name).
stop_service() {
  local svc=$1 pidfile pid
  service "$svc" stop >/dev/null 2>&1 && return 0
  for pidfile in "/run/$svc.pid" "/run/prometheus/$svc.pid"; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    case $pid in
      '' | *[!0-9]*) ;;
      *) kill "$pid" 2>/dev/null || true ;;
    esac
  done
  return 0
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages start system services we do not want; the tests start their own.
    for svc in prometheus prometheus-alertmanager prometheus-pushgateway prometheus-node-exporter; do
      stop_service "$svc"
    done
  else
    echo "not root: skipping Debian packages ${missing[*]} (tests needing them will skip)"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

# Workers: many tests wait on subprocesses, servers, Postgres or sleeps, so on the 2-core
# CI machine 3 workers finish sooner than 2. --dist loadgroup keeps the tests that share
# an expensive fixture on one worker (tests/conftest.py marks them). The 20 slowest tests
# are listed before the summary.
exec .venv/bin/python -m pytest -n "${DRIFTWARDEN_TEST_WORKERS:-3}" --dist loadgroup \
  --durations=20 "$@"
