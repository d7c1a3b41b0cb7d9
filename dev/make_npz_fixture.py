#!/usr/bin/python3
"""Writes the small .npz fixtures of tests/image/test_imgio.c (run with Debian's /usr/bin/python3).

tests/data/img_mixed.npz: the MedMNIST layout with stored *and* deflated members, written the way
numpy's np.savez does it (zipfile, one member per array, force_zip64=True, so every local
header carries a ZIP64 extra field), with dtypes the reader must convert:
  train_images (5, 4, 6, 3) uint8  stored     train_labels (5, 1) <i8 [0, 1, 2, -1, 1] deflated
  train_attributes (5, 1) >i2 [0, 1, 0, 1, -1] stored (big-endian)
  val_images   (2, 4, 6, 3) uint8  deflated   val_labels   (2,)  <i4 [2, 0] stored
  test_images  (3, 4, 6, 3) uint8  deflated   test_labels  (3, 1) |u1 [1, 1, 0] deflated
Pixel of image g (0..9 in train, val, test order), row y, column x, channel c:
  (37 g + 11 y + 5 x + 3 c + 7) % 256            -- the C test recomputes this formula.
tests/data/img_savez.npz: np.savez_compressed(train_images=(3, 2, 2) uint8 arange(12) * 20,
  train_labels=[[1], [0], [1]] uint8) -- numpy's own writer, all members deflated.
"""
import io
import os
import sys
import zipfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "tests", "data")


def pixels(g0, n):
    g = np.arange(g0, g0 + n).reshape(n, 1, 1, 1)
    y = np.arange(4).reshape(1, 4, 1, 1)
    x = np.arange(6).reshape(1, 1, 6, 1)
    c = np.arange(3).reshape(1, 1, 1, 3)
    return ((37 * g + 11 * y + 5 * x + 3 * c + 7) % 256).astype(np.uint8)


members = [
    ("train_images", pixels(0, 5), zipfile.ZIP_STORED),
    ("train_labels", np.array([[0], [1], [2], [-1], [1]], dtype="<i8"), zipfile.ZIP_DEFLATED),
    ("train_attributes", np.array([[0], [1], [0], [1], [-1]], dtype=">i2"), zipfile.ZIP_STORED),
    ("val_images", pixels(5, 2), zipfile.ZIP_DEFLATED),
    ("val_labels", np.array([2, 0], dtype="<i4"), zipfile.ZIP_STORED),
    ("test_images", pixels(7, 3), zipfile.ZIP_DEFLATED),
    ("test_labels", np.array([[1], [1], [0]], dtype="|u1"), zipfile.ZIP_DEFLATED),
]
path = os.path.join(out, "img_mixed.npz")
with zipfile.ZipFile(path, "w") as z:
    for name, arr, method in members:
        info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = method
        with z.open(info, "w", force_zip64=True) as f:  # as np.savez does
            np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
d = np.load(path)
for name, arr, _ in members:
    assert np.array_equal(d[name], arr) and d[name].dtype == arr.dtype, name
with open(path, "rb") as f:
    raw = f.read()
assert raw.count(b"\x01\x00\x10\x00") >= len(members), "no ZIP64 extra fields in the local headers"

path2 = os.path.join(out, "img_savez.npz")
np.savez_compressed(path2, train_images=(np.arange(12) * 20).astype(np.uint8).reshape(3, 2, 2),
                    train_labels=np.array([[1], [0], [1]], dtype=np.uint8))
for p in (path, path2):
    print(p, os.path.getsize(p), "bytes", file=sys.stderr)
    for i in zipfile.ZipFile(p).infolist():
        print("  %-22s method %d  size %4d  csize %4d" % (i.filename, i.compress_type, i.file_size, i.compress_size),
              file=sys.stderr)
