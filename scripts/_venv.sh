# Sourced by scripts/run and scripts/test: create .venv and install Minyi into it when
# setup.cfg or pyproject.toml changed since the last install.
set -eu
cd "$(dirname "$0")/.."  # $0 is the calling script in scripts/
PYTHON=${PYTHON:-python3}
VENV=${MINYI_VENV:-.venv}
stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
    touch "$stamp"
fi
