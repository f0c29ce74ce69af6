#!/usr/bin/env python3
"""Copies a DICOM series, filling empty Study/Series Instance UIDs (anonymised files).

Usage: fill_uids.py SRC_DIR DST_DIR. The real series in ../shared/data/real-ct has them empty,
which a DICOM Segmentation cannot reference; pixel data is copied untouched.
"""
import sys
from pathlib import Path

import pydicom

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for f in sorted(src.iterdir()):
    ds = pydicom.dcmread(f)
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or "1.2.826.0.1.3680043.10.1234.99.1"
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or "1.2.826.0.1.3680043.10.1234.99.2"
    ds.save_as(dst / f.name)
