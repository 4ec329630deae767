# Sourced by scripts/demo and scripts/test: make sure a project-local virtual environment exists and
# holds rclsim (editable) with the extras asked for in RCLSIM_EXTRAS. Only python3 and pip are needed.
# Reinstalls when pyproject.toml changes. RCLSIM_VENV picks another folder for the environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RCLSIM_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
extras="${RCLSIM_EXTRAS:-}"
if [ ! -x "$PY" ]; then
    echo "rclsim: creating a virtual environment in $VENV" >&2
    python3 -m venv "$VENV" || { echo "rclsim: 'python3 -m venv' failed: install python3-venv" >&2; exit 1; }
fi
project_hash="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$ROOT/pyproject.toml")"
want="$project_hash-${extras}"
stamp="$VENV/.rclsim-installed"
have="$(cat "$stamp" 2>/dev/null || true)"
# Up to date when the same pyproject.toml was installed with the same extras, or with any extras
# when none are asked for (the demo runs happily in the test environment).
if [ "$have" != "$want" ] && { [ -n "$extras" ] || [ "${have%%-*}" != "$project_hash" ]; }; then
    echo "rclsim: installing rclsim${extras:+[$extras]} and its dependencies into $VENV (first run takes a minute)" >&2
    log="$VENV/pip-install.log"
    if ! { "$PY" -m pip install --disable-pip-version-check --upgrade pip &&
           "$PY" -m pip install --disable-pip-version-check -e "$ROOT${extras:+[$extras]}"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "rclsim: installing into $VENV failed; the whole log is in $log" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
