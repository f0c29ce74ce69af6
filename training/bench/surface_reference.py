"""Reference values of ASSD and HD95 (mm) for the masks of `pancseg::metrics`'s test
`matches_the_scipy_reference`, computed independently with scipy in MONAI's convention
(surface = mask XOR binary_erosion(mask) with the 6-neighbour cross and a zero border;
distances by scipy.ndimage.distance_transform_edt with the voxel spacing; ASSD = mean of both
directed distance sets together; HD95 = max of the two directed numpy 95th percentiles).

Usage: python3 training/bench/surface_reference.py   (prints the values the test records)
"""
import numpy as np
from scipy import ndimage

SHAPE = (16, 24, 20)  # z, y, x
SPACING_XYZ = (0.8, 0.8, 2.5)


def ellipsoid(c, r):
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in SHAPE], indexing="ij")
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1.0


CASES = [
    (ellipsoid((10.0, 12.0, 8.0), (6.0, 5.0, 3.0)), ellipsoid((11.0, 12.0, 8.0), (6.0, 5.0, 3.0))),
    (ellipsoid((10.0, 12.0, 8.0), (6.0, 5.0, 3.0)), ellipsoid((9.0, 10.0, 7.0), (4.0, 7.0, 4.0))),
    (ellipsoid((5.0, 5.0, 3.0), (3.0, 3.0, 2.0)), ellipsoid((14.0, 18.0, 11.0), (4.0, 3.0, 3.0))),
]


def surface(m):
    return m ^ ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1), border_value=0)


def directed(a, b, sampling):
    return ndimage.distance_transform_edt(~surface(b), sampling=sampling)[surface(a)]


def main():
    sampling = SPACING_XYZ[::-1]  # array axes are z, y, x
    for a, b in CASES:
        ab, ba = directed(a, b, sampling), directed(b, a, sampling)
        assd = np.concatenate([ab, ba]).mean()
        hd95 = max(np.percentile(ab, 95), np.percentile(ba, 95))
        print(f"assd {assd:.12f} hd95 {hd95:.12f}")


if __name__ == "__main__":
    main()
