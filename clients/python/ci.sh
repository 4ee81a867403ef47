#!/usr/bin/env bash
# The Python client's checks, as .ci/run runs them: install the package from the repository
# into a fresh virtual environment (its gRPC stubs generated from proto/ while it builds), then
# pytest against a real server on loopback (the tests start `explainme serve`), including the
# example notebook executed headless by nbconvert; with the pgmpy extra, so that pgmpy reads the
# network's BIF, and with TensorFlow and tf2onnx, so that a Keras model is exported and registered.
# Needs: python3 with venv and pip (PyPI reachable), the explainme binary (EXPLAINME_BIN, else
# target/debug/explainme: run after `cargo build` or `cargo test`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$here/build" "$here"/src/*.egg-info  # a stale in-tree build would ship removed modules
python3 -m venv "$work/venv"
# The keras extra with TensorFlow (CPU), so register_keras runs on a real Keras model.
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$here[test,notebook,pgmpy,keras]" "tensorflow-cpu==2.21.0"
export EXPLAINME_BIN="${EXPLAINME_BIN:-$repo/target/debug/explainme}"
cd "$here"
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests
