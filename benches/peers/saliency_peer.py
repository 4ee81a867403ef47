"""Peer for benches/saliency.rs: occlusion, RISE and Score-CAM with numpy over onnxruntime.

Usage: saliency_peer.py CONFIG.json METHOD...

The bench writes CONFIG.json: the model file, the card's preprocessing, Score-CAM's layer and
its channel layout, the method settings, the batch size, and the 64×64 HU images and lesion
masks as .npy files. This script runs each *full* method on each image with the same
conventions as explainme-saliency (perturbations in Hounsfield units — blends with a
blurred baseline, occlusion filled with the image's median or a ring mean — then the card's window per perturbed image, per-voxel normalised RISE, Score-CAM weights = probability increase over the
baseline, ReLU at layer resolution then bilinear upsampling), batched like the bench, and
prints one JSON document: per method the forward passes, seconds and lesion mass per image,
and the batched inference time per image (the floor's unit), all measured in this run.
Written to be fast numpy (vectorised mask generation, one batch at a time), not a strawman.
"""

import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort


def session(model_bytes):
    return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])


def preprocess(hu, card):
    low, high = card["low"], card["high"]
    return ((np.clip(hu, low, high) - low) / (high - low)).astype(np.float32)


def box_blur(x, radius):
    out = x.astype(np.float64)
    for axis in range(out.ndim):
        n = out.shape[axis]
        if n < 2:
            continue
        c = np.cumsum(out, axis=axis)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        k = np.arange(n)
        lo = np.maximum(k - radius, 0)
        hi = np.minimum(k + radius + 1, n)
        out = (np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)) / (hi - lo).reshape(
            [-1 if a == axis else 1 for a in range(out.ndim)]
        )
    return out.astype(np.float32)


class Scorer:
    def __init__(self, sess, card, batch):
        self.sess = sess
        self.input = sess.get_inputs()[0].name
        self.card = card
        self.batch = batch

    def feed(self, hu):
        xs = preprocess(hu, self.card)
        shape = (len(xs), *xs.shape[1:], 1) if self.card["layout"] == "NHWC" else (len(xs), 1, *xs.shape[1:])
        return {self.input: xs.reshape(shape)}

    def scores(self, xs, cls):
        p = self.sess.run(None, self.feed(xs))[0].reshape(len(xs), -1)
        if p.shape[1] == 1:
            p = np.concatenate([1.0 - p, p], axis=1)
        return p[:, cls]

    def predict_class(self, x):
        p = self.scores(x[None], slice(None))[0]
        cls = int(np.argmax(p)) if len(p) > 2 else int(p[1] >= 0.5)
        return cls, float(p[cls])


def ring_fill(integral, lo, hi, ring, shape):
    def box(a, b):
        return integral[b[0], b[1]] - integral[a[0], b[1]] - integral[b[0], a[1]] + integral[a[0], a[1]], (b[0] - a[0]) * (b[1] - a[1])

    big_lo = [max(lo[i] - ring, 0) for i in range(2)]
    big_hi = [min(hi[i] + ring, shape[i]) for i in range(2)]
    outer, n_outer = box(big_lo, big_hi)
    inner, n_inner = box(lo, hi)
    return (outer - inner) / (n_outer - n_inner)


def starts(n, p, s):
    out = list(range(0, n - p + 1, s))
    if out[-1] != n - p:
        out.append(n - p)
    return out


def occlusion(scorer, x, base, cls, settings):
    p, s = settings["patch"], settings["stride"]
    h, w = x.shape
    integral = np.zeros((h + 1, w + 1))
    integral[1:, 1:] = np.cumsum(np.cumsum(x.astype(np.float64), 0), 1)
    ring = max(p // 2, 1)
    median = float(np.median(x)) if settings.get("fill", "median") == "median" else None
    corners = [(y, xx) for y in starts(h, p, s) for xx in starts(w, p, s)]
    total = np.zeros_like(x)
    count = np.zeros_like(x)
    for b in range(0, len(corners), scorer.batch):
        chunk = corners[b : b + scorer.batch]
        xs = np.repeat(x[None], len(chunk), axis=0)
        for i, (y, xx) in enumerate(chunk):
            fill = median if median is not None else ring_fill(integral, (y, xx), (y + p, xx + p), ring, (h, w))
            xs[i, y : y + p, xx : xx + p] = fill
        drops = base - scorer.scores(xs, cls)
        for (y, xx), d in zip(chunk, drops):
            total[y : y + p, xx : xx + p] += d
            count[y : y + p, xx : xx + p] += 1
    return total / np.maximum(count, 1), len(corners)


def taps(n, g, cell, shift):
    up = (g + 1) * cell
    src = np.clip((np.arange(n) + shift + 0.5) * g / up - 0.5, 0, g - 1)
    i0 = np.floor(src).astype(np.int64)
    return i0, np.minimum(i0 + 1, g - 1), (src - i0).astype(np.float32)


def rise(scorer, x, b, cls, settings, rng):
    n_masks, g, keep = settings["masks"], settings["grid"], settings["keep_probability"]
    h, w = x.shape
    cell = -(-h // g)
    table = [taps(h, g, cell, s) for s in range(cell)]
    weighted = np.zeros_like(x)
    weight = np.zeros_like(x)
    done = 0
    while done < n_masks:
        m = min(scorer.batch, n_masks - done)
        cells = (rng.random((m, g, g)) < keep).astype(np.float32)
        sy = rng.integers(0, cell, m)
        sx = rng.integers(0, cell, m)
        ya, yb, yw = (np.stack([table[s][k] for s in sy]) for k in range(3))
        xa, xb, xw = (np.stack([table[s][k] for s in sx]) for k in range(3))
        rows = np.arange(m)[:, None, None]
        gy = np.arange(g)[None, :, None]
        tmp = cells[rows, gy, xa[:, None, :]] * (1 - xw[:, None, :]) + cells[rows, gy, xb[:, None, :]] * xw[:, None, :]
        masks = tmp[rows, ya[:, :, None], np.arange(w)[None, None, :]] * (1 - yw[:, :, None]) + tmp[
            rows, yb[:, :, None], np.arange(w)[None, None, :]
        ] * yw[:, :, None]
        xs = b[None] + masks * (x - b)[None]
        s = scorer.scores(xs, cls)
        weighted += np.tensordot(s, masks, axes=1)
        weight += masks.sum(axis=0)
        done += m
    return np.where(weight > 0, weighted / np.maximum(weight, 1e-30), 0.0), n_masks


def resize_bilinear(a, out_h, out_w):
    def t(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        return i0, np.minimum(i0 + 1, n_in - 1), (src - i0)

    y0, y1, wy = t(a.shape[-2], out_h)
    x0, x1, wx = t(a.shape[-1], out_w)
    rows = a[..., y0, :] * (1 - wy)[:, None] + a[..., y1, :] * wy[:, None]
    return (rows[..., x0] * (1 - wx) + rows[..., x1] * wx).astype(np.float32)


def scorecam(scorer, layered, layer_layout, x, b, cls, settings):
    acts = layered.sess.run([settings["layer"]], layered.feed(x[None]))[0][0]
    if layer_layout == "NHWC":
        acts = np.moveaxis(acts, -1, 0)
    span = acts.reshape(len(acts), -1)
    keep = [c for c in range(len(acts)) if span[c].max() - span[c].min() > np.finfo(np.float32).eps * max(abs(span[c].max()), 1)]
    scores = [float(scorer.scores(b[None], cls)[0])]
    for i in range(0, len(keep), scorer.batch):
        chunk = keep[i : i + scorer.batch]
        up = resize_bilinear(acts[chunk], *x.shape)
        lo = up.reshape(len(chunk), -1).min(1)[:, None, None]
        hi = up.reshape(len(chunk), -1).max(1)[:, None, None]
        masks = (up - lo) / np.maximum(hi - lo, np.finfo(np.float32).tiny)
        scores.extend(scorer.scores(b[None] + masks * (x - b)[None], cls))
    weights = np.array(scores[1:]) - scores[0]
    cam = np.maximum(np.tensordot(weights, acts[keep], axes=1), 0)
    return resize_bilinear(cam, *x.shape), len(keep) + 2


def lesion_mass(m, mask):
    pos = np.where(m > 0, m, 0.0)
    total = pos.sum()
    return float(pos[mask].sum() / total) if total > 0 else 0.0


def main():
    config = json.load(open(sys.argv[1]))
    config["methods"] = sys.argv[2:]
    card = config["card"]
    model_bytes = open(config["model"], "rb").read()
    scorer = Scorer(session(model_bytes), card, config["batch"])
    edited = onnx.load_from_string(model_bytes)
    edited.graph.output.append(onnx.ValueInfoProto(name=config["scorecam"]["layer"]))
    layered = Scorer(session(edited.SerializeToString()), card, config["batch"])

    images = [np.load(p).astype(np.float32) for p in config["images"]]
    masks = [np.load(p) > 0 for p in config["masks"]]

    # The floor's unit: one batch of `batch` copies of an image, per image (the window is
    # applied in feed(); it costs microseconds).
    xs = np.repeat(images[0][None], config["batch"], axis=0)
    feed = scorer.feed(xs)
    for _ in range(3):
        scorer.sess.run(None, feed)
    times = []
    for _ in range(config["floor_runs"]):
        t = time.perf_counter()
        scorer.sess.run(None, feed)
        times.append(time.perf_counter() - t)
    per_image = float(np.median(times)) / config["batch"]

    results = {}
    rng = np.random.default_rng(config["seed"])
    for method in config["methods"]:
        rows = {"passes": [], "seconds": [], "lesion_mass": []}
        for hu, mask in zip(images, masks):
            t = time.perf_counter()
            x = hu
            b = box_blur(box_blur(box_blur(x, config["blur_radius"]), config["blur_radius"]), config["blur_radius"])
            cls, base = scorer.predict_class(x)
            if method == "occlusion":
                m, passes = occlusion(scorer, x, base, cls, config["occlusion"])
            elif method == "rise":
                m, passes = rise(scorer, x, b, cls, config["rise"], rng)
            else:
                m, passes = scorecam(scorer, layered, config["scorecam"]["layout"], x, b, cls, config["scorecam"])
            rows["seconds"].append(time.perf_counter() - t)
            rows["passes"].append(passes + 1)
            rows["lesion_mass"].append(lesion_mass(m, mask))
        results[method] = rows
    json.dump(
        {"onnxruntime": ort.__version__, "numpy": np.__version__, "per_image_seconds": per_image, "methods": results},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
