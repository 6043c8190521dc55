"""Model names in the order a person reads them (the registry lists them so)."""

from __future__ import annotations

import re


def natural_key(name: str) -> tuple:
    """Sort key reading the numbers in a name by value: resnet18 < resnet34 < resnet101,
    and RegNet's sizes by their flops, '1_6gf' as 1.6 GF: regnet_x_400mf < regnet_x_800mf
    < regnet_x_1_6gf < regnet_x_3_2gf < regnet_x_8gf < regnet_x_16gf."""
    parts = re.split(r"(\d+(?:_\d+)?[mg]f(?![a-z])|\d+)", name.lower())
    key = []
    for i, part in enumerate(parts):
        if i % 2 == 0:  # text between numbers (re.split puts the numbers at odd places)
            key.append(part)
        elif part.endswith("f"):  # 400mf, 1_6gf: flops in MF
            key.append(float(part[:-2].replace("_", ".")) * (1000 if part[-2] == "g" else 1))
        else:
            key.append(int(part))
    return tuple(key)
