"""Every RegNetX/Y of pycls's model zoo (configs/dds_baselines), not only ANCHORS' six,
has pycls's published flops, params and acts (dev/model_complexity.json, 224x224, 1000
classes) under cnnlab's pycls-convention generator and complexity count."""

import pytest

from cnnlab.models.anynet import anynet_complexity
from cnnlab.models.regnet import RegNetConfig

# name: (depth, w0, wa, wm, group width, SE ratio), (flops, params, acts)
ZOO = {
    "RegNetX-3.2GF": ((25, 88, 26.31, 2.25, 48, 0), (3176622952, 15296552, 11367432)),
    "RegNetX-4.0GF": ((23, 96, 38.65, 2.43, 40, 0), (3964499816, 22118248, 12201608)),
    "RegNetX-6.4GF": ((17, 184, 60.83, 2.07, 56, 0), (6460292264, 26209256, 16369744)),
    "RegNetX-8.0GF": ((23, 80, 49.56, 2.88, 120, 0), (7995133416, 39572648, 14059688)),
    "RegNetX-12GF": ((19, 168, 73.36, 2.37, 112, 0), (12086679016, 46106056, 21366568)),
    "RegNetX-16GF": ((22, 216, 55.59, 2.1, 128, 0), (15940756456, 54278536, 25515496)),
    "RegNetX-32GF": ((23, 320, 69.86, 2.0, 168, 0), (31735930792, 107811560, 36302160)),
    "RegNetY-200MF": ((13, 24, 36.44, 2.49, 8, 0.25), (199519076, 3162996, 2168052)),
    "RegNetY-600MF": ((15, 48, 32.54, 2.32, 16, 0.25), (601227608, 6055160, 4334296)),
    "RegNetY-800MF": ((14, 56, 38.84, 2.4, 16, 0.25), (797183328, 6263168, 5249888)),
    "RegNetY-1.6GF": ((27, 48, 20.71, 2.65, 24, 0.25), (1612087326, 11202430, 8044814)),
    "RegNetY-3.2GF": ((21, 80, 42.63, 2.66, 24, 0.25), (3176496162, 19436338, 11263418)),
    "RegNetY-4.0GF": ((22, 96, 31.41, 2.24, 64, 0.25), (3973301344, 20646656, 12287200)),
    "RegNetY-6.4GF": ((25, 112, 33.22, 2.27, 72, 0.25), (6355221876, 30583252, 16407188)),
    "RegNetY-8.0GF": ((17, 192, 76.82, 2.19, 56, 0.25), (7963074196, 39180068, 17968916)),
    "RegNetY-12GF": ((19, 168, 73.36, 2.37, 112, 0.25), (12092395504, 51822544, 21384496)),
    "RegNetY-16GF": ((18, 200, 106.23, 2.48, 112, 0.25), (15911534044, 83590140, 23041228)),
    "RegNetY-32GF": ((20, 232, 115.89, 2.53, 232, 0.25), (32279583362, 145046770, 30261570)),
}


@pytest.mark.parametrize("name", ZOO)
def test_pycls_zoo_regnet_complexity(name):
    (depth, w0, wa, wm, g, se), golden = ZOO[name]
    cfg = RegNetConfig(depth=depth, w0=w0, wa=wa, wm=wm, group_width=g, se_ratio=se)
    cx = anynet_complexity(cfg.to_anynet(), 224, 3, 1000)
    assert (cx["flops"], cx["params"], cx["acts"]) == golden
