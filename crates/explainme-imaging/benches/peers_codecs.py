"""Python peers for `cargo bench -p explainme-imaging --bench codecs`: the same files,
encoded and decoded by Pillow, nibabel, pydicom and numpy, timed the same way (median of
repeated runs, in-memory bytes). Prints one JSON object {case: {"encode_ms", "decode_ms"}}.

Usage: python3 peers_codecs.py DIR   (DIR holds the files the Rust bench wrote)
Pinned versions: ../tests/fixtures/peers/requirements-imaging.txt
"""

import gzip
import io
import json
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import apply_modality_lut

REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 20


def median_ms(fn):
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    d = Path(sys.argv[1])
    out = {}

    png = (d / "slice_512.png").read_bytes()
    hu = np.asarray(Image.open(io.BytesIO(png))).astype(np.float32) - 1024.0

    def png_encode():
        stored = np.clip(np.rint(hu + 1024.0), 0, 65535).astype(np.uint16)
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, format="PNG")

    out["png 512x512 16-bit"] = {
        "encode_ms": median_ms(png_encode),
        "decode_ms": median_ms(
            lambda: np.asarray(Image.open(io.BytesIO(png))).astype(np.float32) - 1024.0
        ),
    }

    for name in ["volume_128_f32.nii", "volume_128_i16.nii.gz"]:
        raw = (d / name).read_bytes()

        def decode(raw=raw, name=name):
            plain = gzip.decompress(raw) if name.endswith(".gz") else raw
            fh = nib.FileHolder(fileobj=io.BytesIO(plain))
            img = nib.Nifti1Image.from_file_map({"header": fh, "image": fh})
            return img.get_fdata(dtype=np.float32)

        vol = decode()
        dtype = np.int16 if "i16" in name else np.float32

        def encode(vol=vol, dtype=dtype, gz=name.endswith(".gz")):
            img = nib.Nifti1Image(vol.astype(dtype), np.eye(4))
            raw = img.to_bytes()
            if gz:
                gzip.compress(raw, compresslevel=1, mtime=0)

        out[name] = {"encode_ms": median_ms(encode), "decode_ms": median_ms(decode)}

    dcm = (d / "slice_512.dcm").read_bytes()

    def dcm_decode():
        ds = pydicom.dcmread(io.BytesIO(dcm))
        return apply_modality_lut(ds.pixel_array, ds).astype(np.float32)

    ds0 = pydicom.dcmread(io.BytesIO(dcm))

    def dcm_encode():
        ds0.PixelData = np.rint(dcm_hu).astype("<i2").tobytes()
        ds0.save_as(io.BytesIO(), enforce_file_format=True)

    dcm_hu = dcm_decode()
    out["dicom 512x512 int16"] = {"encode_ms": median_ms(dcm_encode), "decode_ms": median_ms(dcm_decode)}

    npy = (d / "volume_128_f32.npy").read_bytes()
    arr = np.load(io.BytesIO(npy))
    out["npy 128^3 f32"] = {
        "encode_ms": median_ms(lambda: np.save(io.BytesIO(), arr)),
        "decode_ms": median_ms(lambda: np.load(io.BytesIO(npy))),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
