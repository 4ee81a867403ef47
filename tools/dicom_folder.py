"""What the validators need of a folder of DICOM files (searched recursively, non-DICOM files
skipped): its frames of reference and its SOP Instance UIDs."""

import os

import pydicom


def uids(folder):
    """(frame-of-reference UIDs, SOP Instance UIDs) of the DICOM files under `folder`."""
    frames, instances = set(), set()
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                ds = pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True)
            except Exception:  # noqa: BLE001 - not a DICOM file
                continue
            if "FrameOfReferenceUID" in ds:
                frames.add(str(ds.FrameOfReferenceUID))
            instances.add(str(ds.SOPInstanceUID))
    return frames, instances
