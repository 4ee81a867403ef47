"""Golden fixture for explainme-saliency's faithfulness figures, computed with numpy over onnxruntime.

Usage: faithfulness_golden.py COHORT_DIR OUT_DIR [CASES]

COHORT_DIR is a phantom cohort (`explainme phantom --cases 3 --seed 20261201 --out DIR`); its
first CASES cases (default 3) are explained with the committed demo CNN. For each case, two
maps that both sides compute exactly from integers, so the fixture holds no map:

* `scrambled`: voxel v gets (v * 2654435761) mod N (N = 4096 voxels, a power of two, so every
  value occurs once: a map with no ties);
* `rings`: 64 minus the Chebyshev distance to the lesion's centre (its voxels' mean row and
  column, floored): a map of many ties, which the voxel order in C order breaks.

For each map this computes what `explainme_saliency::faithfulness` does, with the same
conventions (saliency_peer.py's): the class explained is `malignant`; the deletion curve
replaces the most salient voxels first by the image's median, the insertion curve restores them
first into the image's blurred baseline (a box blur of half-width round(side / 12) applied
three times), in 32 equal steps of ceil(t * N / steps) voxels; each AUC is the trapezoidal
area over the fraction changed; blurred and median scores are the curves' fixed ends; mass in
lesion and the pointing game are read off the map and the lesion mask.

It copies each case's image and lesion mask into OUT_DIR (the Rust test decodes those very
files) and writes OUT_DIR/faithfulness.json.
"""

import json
import pathlib
import shutil
import sys

import numpy as np
from PIL import Image

from saliency_peer import Scorer, box_blur, session

ROOT = pathlib.Path(__file__).resolve().parents[2]
STEPS = 32
HU_OFFSET = 1024.0


def read_hu(path):
    return np.asarray(Image.open(path), dtype=np.float32) - HU_OFFSET


def read_mask(path):
    return np.asarray(Image.open(path)) > 0


def maps(lesion):
    h, w = lesion.shape
    n = h * w
    scrambled = ((np.arange(n, dtype=np.uint64) * 2654435761) % n).astype(np.float32)
    rows, cols = np.nonzero(lesion)
    cy, cx = int(rows.sum()) // len(rows), int(cols.sum()) // len(cols)
    yy, xx = np.mgrid[0:h, 0:w]
    rings = (64 - np.maximum(np.abs(yy - cy), np.abs(xx - cx))).astype(np.float32).ravel()
    return {"scrambled": scrambled, "rings": rings}


def curves(scorer, x, baseline, saliency, cls):
    flat_x, flat_b = x.ravel(), baseline.ravel()
    n = flat_x.size
    order = np.lexsort((np.arange(n), -saliency))
    median = np.float32(np.median(flat_x))
    changed = [-(-t * n // STEPS) for t in range(STEPS + 1)]
    deleted, inserted = [], []
    for c in changed:
        d = flat_x.copy()
        d[order[:c]] = median
        deleted.append(d.reshape(x.shape))
        i = flat_b.copy()
        i[order[:c]] = flat_x[order[:c]]
        inserted.append(i.reshape(x.shape))
    batch = np.stack(deleted + inserted)
    scores = np.concatenate(
        [scorer.scores(batch[k : k + scorer.batch], cls) for k in range(0, len(batch), scorer.batch)]
    ).astype(np.float64)
    deletion, insertion = scores[: STEPS + 1], scores[STEPS + 1 :]

    def auc(curve):
        return float(((curve[:-1] + curve[1:]) / 2.0).sum() / STEPS)

    return {
        "deletion_curve": deletion.tolist(),
        "insertion_curve": insertion.tolist(),
        "deletion_auc": auc(deletion),
        "insertion_auc": auc(insertion),
        "blurred_score": float(insertion[0]),
        "median_score": float(deletion[-1]),
    }


def main():
    cohort, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    model = ROOT / "data/models/renal_cnn.onnx"
    card = json.loads((ROOT / "data/models/renal_cnn.card.json").read_text())
    window = card["preprocessing"]["intensity"]["window"]
    scorer = Scorer(
        session(model.read_bytes()),
        {
            "low": window["centre"] - window["width"] / 2,
            "high": window["centre"] + window["width"] / 2,
            "layout": card["layout"],
        },
        batch=64,
    )
    cls = card["class_names"].index(card["positive_class"])
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for image in sorted((cohort / "images").glob("*.png"))[:count]:
        case_id = image.stem
        lesion_path = cohort / "masks" / case_id / "lesion.png"
        shutil.copyfile(image, out / f"{case_id}.png")
        shutil.copyfile(lesion_path, out / f"{case_id}_lesion.png")
        x = read_hu(image)
        lesion = read_mask(lesion_path)
        radius = max(1, int(min(x.shape) / 12 + 0.5))  # Rust rounds half away from zero
        baseline = box_blur(box_blur(box_blur(x, radius), radius), radius)
        figures = {}
        for name, saliency in maps(lesion).items():
            f = curves(scorer, x, baseline, saliency, cls)
            positive = np.maximum(saliency, 0)
            f["lesion_mass"] = float(positive[lesion.ravel()].sum() / positive.sum())
            f["pointing_game"] = bool(lesion.ravel()[int(np.argmax(saliency))])
            figures[name] = f
        score = float(scorer.scores(x[None], cls)[0])
        cases.append({"case_id": case_id, "score": score, "maps": figures})
    golden = {
        "made_by": "benches/peers/faithfulness_golden.py (numpy over onnxruntime)",
        "onnxruntime": __import__("onnxruntime").__version__,
        "numpy": np.__version__,
        "model": "data/models/renal_cnn.onnx",
        "class": card["positive_class"],
        "steps": STEPS,
        "cases": cases,
    }
    (out / "faithfulness.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
