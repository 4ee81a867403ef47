"""Small inputs that used to cost gigabytes (issue 8, item 9), made with the standard library
only, into the current directory: a 16384² 16-bit PNG of zeros (~520 KB), a 1024×512×512
uint8 `.nii.gz` of zeros (~260 KB), their UpsertCases requests as grpcurl JSON, and a Predict
request with 16 MB of model-ready input (1000 cases of the demo CNN)."""
import base64
import json
import struct
import zlib

def png_zeros(side):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (side * 2)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))

def nifti_gz_zeros(x, y, z):
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, x, y, z, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, 2, 8)          # uint8
    struct.pack_into("<8f", h, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<f", h, 108, 352.0)
    struct.pack_into("<f", h, 112, 1.0)
    h[344:348] = b"n+1\0"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(bytes(h) + b"\0" * 4)]
    block = b"\0" * (1 << 20)
    for _ in range(x * y * z >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.flush())
    return b"".join(parts)

png = png_zeros(16384)
open("huge.png", "wb").write(png)
nii = nifti_gz_zeros(1024, 512, 512)
open("huge.nii.gz", "wb").write(nii)
print(f"huge.png {len(png)} bytes, huge.nii.gz {len(nii)} bytes")
for name, data, fmt in [("png", png, "IMAGE_FORMAT_PNG16"), ("nii", nii, "IMAGE_FORMAT_NIFTI")]:
    case = {"case": {"cohort": "h", "caseId": "c1", "schema": "renal",
                     "image": {"encoded": {"format": fmt, "data": base64.b64encode(data).decode()}}}}
    json.dump(case, open(f"upsert_{name}.json", "w"))
# Predict with 16 MB of input: 1000 demo-CNN-sized cases of 0.5
n = 1000
json.dump({"modelId": "MODEL", "input": {"shape": [n, 64, 64, 1], "data": [0.5] * (n * 4096)},
           "predictionOnly": True}, open("predict.json", "w"))
