#!/usr/bin/env python3
"""PNG fixtures for glint's image reader (tests/io/test_image.cpp), written by Pillow, with the pixels Pillow reads
back as the expected values.

  tests/data/images/palette.png      4x3 palette image (4-bit indices)          -> RGB
  tests/data/images/palette_trns.png 4x3 palette image with a transparent index -> RGBA
  tests/data/images/gray_alpha.png   3x2 gray + alpha                           -> RGBA
  tests/data/images/gray1.png        9x2 1-bit gray                             -> gray, 0 / 255
  tests/data/images/gray16.png       2x2 16-bit gray: glint refuses it (unsupported bit depth)
  tests/data/images/images.json      versions; per readable file: width, height, channels, pixels (HWC bytes);
                                     converted: Pillow's convert("L") and convert("RGB") of some of them

Run with /work/venv-fixtures/bin/python (Pillow from PyPI); versions go into the json.
"""
import json
import pathlib

import numpy as np
import PIL
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "images"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    palette = [int(v) for v in rng.integers(0, 256, 3 * 5)]
    p = Image.fromarray(rng.integers(0, 5, (3, 4)).astype(np.uint8), "P")
    p.putpalette(palette)
    p.save(OUT / "palette.png")
    p.save(OUT / "palette_trns.png", transparency=2)
    Image.fromarray(rng.integers(0, 256, (2, 3, 2)).astype(np.uint8), "LA").save(OUT / "gray_alpha.png")
    Image.fromarray(rng.integers(0, 2, (2, 9)).astype(bool)).save(OUT / "gray1.png")
    Image.fromarray(np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)).save(OUT / "gray16.png")

    expected = {}
    for name, mode in [("palette.png", "RGB"), ("palette_trns.png", "RGBA"), ("gray_alpha.png", "RGBA"),
                       ("gray1.png", "L")]:
        im = Image.open(OUT / name).convert(mode)
        a = np.asarray(im)
        expected[name] = {"width": im.width, "height": im.height, "channels": 1 if a.ndim == 2 else a.shape[2],
                          "pixels": [int(v) for v in a.reshape(-1)]}
    converted = {}
    for name in ["palette_trns.png", "gray1.png", "gray_alpha.png"]:
        im = Image.open(OUT / name)
        converted[name] = {mode: [int(v) for v in np.asarray(im.convert(mode)).reshape(-1)] for mode in ("L", "RGB")}
    meta = {"versions": {"Pillow": PIL.__version__, "numpy": np.__version__}, "files": expected,
            "converted": converted}
    (OUT / "images.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
