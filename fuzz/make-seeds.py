#!/usr/bin/env python3
"""Writes the small seed inputs of the fuzz targets into fuzz/seeds/<target>/ (committed).

Seeds are small on purpose (libFuzzer mutates them; large seeds slow every run): a 4x5x6 NIfTI in
int16 and float32 (plain and gzip), two 8x8 CT DICOM slices (one file, and a two-file directory
joined by the dicom_series target's separator), the fixture bundle's manifest, a two-tree forest
file (raw with checksum, and body-only for the target's checksum mode), and C API volumes.
"""
import gzip
import hashlib
import io
import shutil
import struct
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

root = Path(__file__).resolve().parent
seeds = root / "seeds"


def put(target, name, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# NIfTI
for dtype in (np.int16, np.float32):
    img = nib.Nifti1Image(np.arange(120, dtype=dtype).reshape(4, 5, 6), np.diag([0.7, 0.8, 2.5, 1.0]))
    img.header.set_sform(img.affine, code=1)
    img.header["vox_offset"] = 352
    raw = img.header.binaryblock + b"\0" * 4 + np.asarray(img.dataobj).tobytes(order="F")
    put("nifti", f"tiny-{np.dtype(dtype).name}.nii", raw)
    put("nifti", f"tiny-{np.dtype(dtype).name}.nii.gz", gzip.compress(raw, mtime=0))


# DICOM: two 8x8 CT slices
def slice_bytes(k):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = f"1.2.826.0.1.3680043.10.1234.5.{k + 1}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1234.5.100"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1234.5.101"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.10.1234.5.102"
    ds.ImagePositionPatient = [0, 0, 2.5 * k]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.8, 0.7]
    ds.SliceThickness = 2.5
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 1
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.PixelData = (np.arange(64, dtype=np.int16) * 10 + k).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


a, b = slice_bytes(0), slice_bytes(1)
put("dicom_series", "one-slice.dcm", a)
put("dicom_series", "two-slices", a + b"PANCSEGFILE" + b)

# manifest
shutil.copy(root.parent / "tests/fixtures/bundle-tiny/manifest.json", seeds / "manifest" / "manifest.json")


# forest: two trees over 3 features
def node(feature, threshold, left, right, value):
    return struct.pack("<IfIIf", feature, threshold, left, right, value)


LEAF = 0xFFFFFFFF
body = b"PSRF" + struct.pack("<IIIf", 1, 3, 2, 1.5)
body += struct.pack("<I", 3) + node(1, 0.5, 1, 2, 0.4) + node(LEAF, 0, 0, 0, 0.1) + node(LEAF, 0, 0, 0, 0.9)
body += struct.pack("<I", 1) + node(LEAF, 0, 0, 0, 0.3)
put("forest", "two-trees-raw", b"\0" + body + hashlib.sha256(body).digest())
put("forest", "two-trees-body", b"\1" + body)


# C API volume: header fields then int16 data
def volume(dims, dtype, spacing, direction, payload):
    h = struct.pack("<QQQ", *dims) + struct.pack("<Q", dtype + 1)
    h += struct.pack("<3d", *spacing) + struct.pack("<3d", 10.0, -20.0, 30.0)
    h += struct.pack("<9d", *direction) + struct.pack("<2d", 1.0, -1024.0)
    return h + payload


ident = [1, 0, 0, 0, 1, 0, 0, 0, 1]
put("ffi_volume", "good-int16", volume((4, 3, 2), 0, (0.7, 0.7, 2.5), ident, bytes(4 * 3 * 2 * 2)))
put("ffi_volume", "good-float", volume((2, 2, 2), 3, (1.0, 1.0, 1.0), ident, bytes(8 * 4)))
put("ffi_volume", "nan-spacing", volume((2, 2, 2), 0, (float("nan"), 1.0, 1.0), ident, bytes(16)))
print(f"seeds written under {seeds}", file=sys.stderr)
