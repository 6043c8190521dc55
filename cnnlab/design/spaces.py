"""Design spaces of Radosavovic et al. (CVPR 2020): AnyNetX A..E and RegNet, sampled.

Every space produces :class:`~cnnlab.models.anynet.AnyNetConfig` objects: stem 3x3/2
to 32 channels, four stages of X blocks, global pool + linear head. The spaces
differ only in how a stage's depth d, width w, bottleneck ratio b and group width g
are drawn (the paper's section 3):

==========  ==========================================================================
anynetx_a   every stage free: d, w, b, g drawn per stage
anynetx_b   A with one b shared by all stages
anynetx_c   B with one g shared too
anynetx_d   C with non-decreasing widths, w_{i+1} >= w_i
anynetx_e   D with non-decreasing depths, d_{i+1} >= d_i
regnetx     six numbers d, w0, wa, wm, b, g expanded by the quantised linear rule
            (:func:`cnnlab.models.regnet.generate_regnet`); four-stage results only
==========  ==========================================================================

The paper's b divides: a stage's inner width is w / b, b in {1, 2, 4}. AnyNetConfig
stores the multiplier ``bottleneck_ratios = 1 / b`` (pycls's ``bm``). Sampling is
log-uniform (depths, widths, RegNet's w0/wa/wm), uniform over {1, 2, 4} for b and
over the powers of two {1..32} for g (log-uniform on a power-of-two grid); RegNet's d
is uniform. Each as pycls's sampler draws it (log-uniform values rounded up onto their
grid, the smallest as likely as the log-interval below it), except:

- g in RegNetX. The paper writes g in {1, 2, ..., 32} and, for RegNet, "b and g as
  before"; pycls's RegNet sampler (``power2_or_log_uniform``, quantum 8) also draws 24
  (one draw in ten) and 32 less often (one in 14, not one in 6). Here RegNetX draws g as
  AnyNetX does, so the spaces compared differ only in how widths and depths are drawn.
- wa and wm are rounded to the nearest 0.1 and 0.001, not up: pycls's values are higher
  by half a quantum on average (0.05 for wa) and its lowest wa about twice as likely.

Scaling to the input: the paper samples widths up to 1024 at 224x224. At side s the
top width here is ``1024 * (s / 224) ** (2/3)``, a multiple of 8: 256 at 28x28,
1024 at 224. (Cost goes as width^2 x pixels; this keeps the largest networks of the
space affordable at 28x28 without making every one of them tiny.) RegNet's w0 and wa
limits (256 in the paper) scale by the same factor; depths, b and g do not. Above
224x224 nothing grows: the ranges are the paper's.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

from cnnlab.formatting import format_count
from cnnlab.models.anynet import AnyNetConfig, anynet_complexity

# pycls's group-width compatibility step (shared with generate_regnet, so AnyNetX and
# RegNet samples are adjusted by one rule).
from cnnlab.models.regnet import RegNetConfig, regnet_stage_count
from cnnlab.models.regnet import compatible_width as _compatible_width

PAPER = "Radosavovic et al. 2020, Designing Network Design Spaces"
ANYNET_SPACES = ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e")
SPACES = (*ANYNET_SPACES, "regnetx")


class DesignSpaceError(ValueError):
    """An unknown space, a malformed complexity band, or a band no sample reaches."""


# ---------------------------------------------------------------- ranges


def _multiple_of(value: float, quantum: int) -> int:
    return max(quantum, int(round(value / quantum)) * quantum)


@dataclass(frozen=True)
class SpaceRanges:
    """What each space samples from; :meth:`for_input` scales the paper's to a side.

    For the ``image_size`` it is meant for: a stem of ``stem_width`` channels, then
    ``num_stages`` stages of up to ``max_depth`` blocks each (AnyNetX), widths from
    ``min_width`` to ``max_width`` in multiples of ``width_quantum``, bottleneck ratios
    (the paper's b: inner width = w / b) from ``bottlenecks`` and group widths from
    ``group_widths``. RegNet draws d blocks in all from ``regnet_depth`` (four stages
    need at least four), w0 from ``regnet_w0``, wa from ``regnet_wa`` and wm from
    ``regnet_wm`` (the paper's d < 64, w0 and wa < 256, 1.5 <= wm <= 3 at 224x224).
    """

    image_size: int = 224
    stem_width: int = 32
    num_stages: int = 4
    max_depth: int = 16
    min_width: int = 8
    max_width: int = 1024
    width_quantum: int = 8
    bottlenecks: tuple[int, ...] = (1, 2, 4)
    group_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    regnet_depth: tuple[int, int] = (4, 63)
    regnet_w0: tuple[int, int] = (8, 256)
    regnet_wa: tuple[float, float] = (8.0, 256.0)
    regnet_wm: tuple[float, float] = (1.5, 3.0)

    @classmethod
    def for_input(cls, image_size: int) -> SpaceRanges:
        """The paper's ranges scaled to ``image_size`` (see the module docstring)."""
        if image_size < 1:
            raise DesignSpaceError(f"image_size must be >= 1, got {image_size}")
        # Never above the paper's: past 224 the widths and w0 stopped at 1024 and 256
        # while wa went on growing (to 406 at 448x448), outside the RegNet space.
        scale = min(1.0, (image_size / 224) ** (2 / 3))
        return cls(
            image_size=image_size,
            max_width=_multiple_of(1024 * scale, 8),
            regnet_w0=(8, _multiple_of(256 * scale, 8)),
            regnet_wa=(8.0 * scale, 256.0 * scale),
        )


# ---------------------------------------------------------------- primitive samplers


def log_uniform_pmf(low: int, high: int, quantum: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Values low, low+q, ..., high and their probabilities under log-uniform sampling.

    A continuous log-uniform draw on (low - min(q, low/2), high] rounded *up* to the
    grid (pycls's ``log_uniform``): each value owns the interval just below it, so the
    small values, whose intervals are longest in log space, are the most likely.
    """
    if low < 1 or high < low or low % quantum or high % quantum:
        raise DesignSpaceError(f"log-uniform grid needs 1 <= low <= high, multiples of "
                               f"{quantum}; got low={low}, high={high}")
    values = np.arange(low, high + 1, quantum, dtype=np.float64)
    lower = values - quantum
    lower[0] = low - min(quantum, low / 2)
    mass = np.log(values / lower)
    return values.astype(np.int64), mass / mass.sum()


@functools.lru_cache(maxsize=64)
def _log_uniform_cdf(low: int, high: int, quantum: int) -> tuple[np.ndarray, np.ndarray]:
    # Kept between draws: an A/B/C draw asks for the same two grids eight times, and
    # building them each time was a third of a draw's cost. Read-only, being shared.
    values, p = log_uniform_pmf(low, high, quantum)
    cdf = p.cumsum()
    cdf /= cdf[-1]
    values.setflags(write=False)
    cdf.setflags(write=False)
    return values, cdf


def _log_uniform_int(rng: np.random.Generator, low: int, high: int, quantum: int = 1) -> int:
    values, cdf = _log_uniform_cdf(low, high, quantum)
    # What rng.choice(values, p=pmf) does (one rng.random(), the same cdf), so a seed
    # draws the networks it drew before; without choice's checks of p on every call.
    return int(values[cdf.searchsorted(rng.random(), side="right")])


def _log_uniform_float(rng: np.random.Generator, low: float, high: float,
                       quantum: float) -> float:
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    # To the quantum's decimals: 56 * 0.1 is 5.6000000000000005, shown so in the store.
    decimals = max(0, -math.floor(math.log10(quantum)))
    return float(min(high, max(low, round(round(value / quantum) * quantum, decimals))))


def _choice(rng: np.random.Generator, options: tuple[int, ...]) -> int:
    return int(options[rng.integers(len(options))])


# ---------------------------------------------------------------- the spaces


@dataclass(frozen=True)
class Sample:
    """One drawn network: the space's own numbers, the AnyNet they make, its cost.

    ``params`` holds what the space samples (per-stage d/w/b/g, or RegNet's six
    numbers) before the group-width adjustment; ``config`` is the network trained.
    ``complexity`` is {"flops", "params", "acts"}; flops are multiply-adds (MACs).
    """

    space: str
    params: dict
    config: AnyNetConfig
    complexity: dict = field(default_factory=dict)

    @property
    def macs(self) -> int:
        """The network's multiply-adds at the input it was drawn for (``complexity["flops"]``)."""
        return self.complexity["flops"]


def _stage_params(rng: np.random.Generator, r: SpaceRanges, space: str) -> dict | None:
    n = r.num_stages
    depths = [_log_uniform_int(rng, 1, r.max_depth) for _ in range(n)]
    widths = [_log_uniform_int(rng, r.min_width, r.max_width, r.width_quantum)
              for _ in range(n)]
    bs = [_choice(rng, r.bottlenecks) for _ in range(n)]
    gs = [_choice(rng, r.group_widths) for _ in range(n)]
    level = ANYNET_SPACES.index(space)  # each space adds one constraint to the previous
    if level >= 1:  # B: one b for all stages
        bs = [bs[0]] * n
    if level >= 2:  # C: one g too
        gs = [gs[0]] * n
    # D, E: non-decreasing widths (and depths) are the space; a draw outside it is
    # rejected (None), so the networks come from A's distribution restricted to the space.
    # Sorting the draws instead is not the same: depths and widths are discrete and tie,
    # and sorting moved E's total depth from 17.1 to 19.8 blocks on average.
    if level >= 3 and widths != sorted(widths):
        return None
    if level >= 4 and depths != sorted(depths):
        return None
    return {"depths": depths, "widths": widths, "bottlenecks": bs, "group_widths": gs}


ORDERED_BATCH = 1024  # D/E candidates drawn at once: about 1 in 200 is in order


def _ordered_stage_params(rng: np.random.Generator, r: SpaceRanges, space: str,
                          k: int = ORDERED_BATCH) -> list[dict]:
    """:func:`_stage_params` for AnyNetX_D/E, ``k`` draws at once with numpy (the same
    laws, drawn in another order), keeping those in the space. A per-draw loop would
    spend most of its time on the draws it rejects."""
    n = r.num_stages
    dv, dp = log_uniform_pmf(1, r.max_depth)
    wv, wp = log_uniform_pmf(r.min_width, r.max_width, r.width_quantum)
    depths = rng.choice(dv, p=dp, size=(k, n))
    widths = rng.choice(wv, p=wp, size=(k, n))
    bs = np.asarray(r.bottlenecks)[rng.integers(len(r.bottlenecks), size=(k, 1))]
    gs = np.asarray(r.group_widths)[rng.integers(len(r.group_widths), size=(k, 1))]
    keep = np.all(np.diff(widths, axis=1) >= 0, axis=1)
    if space == "anynetx_e":
        keep &= np.all(np.diff(depths, axis=1) >= 0, axis=1)
    return [{"depths": depths[i].tolist(), "widths": widths[i].tolist(),
             "bottlenecks": [int(bs[i, 0])] * n, "group_widths": [int(gs[i, 0])] * n}
            for i in np.flatnonzero(keep)]


def _draws(space: str, rng: np.random.Generator, ranges: SpaceRanges) -> tuple[list, int]:
    """Some networks of ``space`` (possibly none) and how many raw draws they took."""
    if space in ("anynetx_d", "anynetx_e"):
        kept = _ordered_stage_params(rng, ranges, space)
        return ([Sample(space, p, anynet_from_params(p, ranges.stem_width)) for p in kept],
                ORDERED_BATCH)
    s = draw(space, rng, ranges)
    return ([s] if s is not None else []), 1


def anynet_from_params(params: dict, stem_width: int = 32) -> AnyNetConfig:
    """The AnyNetX a space's per-stage numbers describe, group widths made compatible.

    As pycls does: g is capped at the inner width w/b, the inner width rounded to a
    multiple of g, and w recomputed from it (so w can move by less than g).
    """
    widths, gs = [], []
    for w, b, g in zip(params["widths"], params["bottlenecks"], params["group_widths"],
                       strict=True):
        w_adj, g_adj = _compatible_width(w, 1 / b, g, "pycls")
        widths.append(w_adj)
        gs.append(g_adj)
    return AnyNetConfig(stem_width=stem_width, depths=params["depths"], widths=widths,
                        bottleneck_ratios=[1 / b for b in params["bottlenecks"]],
                        group_widths=gs)


def _regnet_params(rng: np.random.Generator, r: SpaceRanges) -> dict:
    return {
        "depth": int(rng.integers(r.regnet_depth[0], r.regnet_depth[1] + 1)),
        "w0": _log_uniform_int(rng, *r.regnet_w0, quantum=8),
        "wa": _log_uniform_float(rng, *r.regnet_wa, quantum=0.1),
        "wm": _log_uniform_float(rng, *r.regnet_wm, quantum=0.001),
        "bottleneck": _choice(rng, r.bottlenecks),
        "group_width": _choice(rng, r.group_widths),
    }


def regnet_from_params(params: dict, stem_width: int = 32) -> RegNetConfig:
    return RegNetConfig(depth=params["depth"], w0=params["w0"], wa=params["wa"],
                        wm=params["wm"], group_width=params["group_width"],
                        bottleneck=1 / params["bottleneck"], stem_width=stem_width)


def draw(space: str, rng: np.random.Generator, ranges: SpaceRanges) -> Sample | None:
    """One draw from ``space``; None when it breaks the space's rules (AnyNetX D and E:
    widths, depths not non-decreasing; RegNet: not exactly ``ranges.num_stages`` stages),
    for the caller to draw again."""
    check_space(space)
    if space == "regnetx":
        params = _regnet_params(rng, ranges)
        cfg = regnet_from_params(params, ranges.stem_width).to_anynet()
        # pycls's rule: as many distinct widths as stages, and no stage index skipped
        # (a skipped one leaves fewer widths than the rule's last index implies).
        last = regnet_stage_count(params["w0"], params["wa"], params["wm"], params["depth"])
        if len(cfg.depths) != ranges.num_stages or last != ranges.num_stages:
            return None
        return Sample(space, params, cfg)
    params = _stage_params(rng, ranges, space)
    if params is None:
        return None
    return Sample(space, params, anynet_from_params(params, ranges.stem_width))


def check_space(space: str) -> str:
    if space not in SPACES:
        raise DesignSpaceError(f"unknown design space {space!r}; choose one of "
                               f"{', '.join(SPACES)}")
    return space


# ---------------------------------------------------------------- complexity bands


def parse_band(text: str | None) -> tuple[float, float] | None:
    """A band's ``text`` as (low, high): '5M-20M' -> (5e6, 2e7); None or blank: None. Suffixes
    K, M, G, T (x1e3 to 1e12: as counts are written, a band suggested may read 300G-1.20T);
    plain numbers too."""
    if text is None or not str(text).strip():
        return None

    def number(part: str) -> float:
        part = part.strip().upper()
        scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}.get(part[-1:], 1.0)
        try:
            return float(part[:-1] if scale != 1.0 else part) * scale
        except ValueError:
            raise DesignSpaceError(f"bad complexity band {text!r}: {part!r} is not a number "
                                   "(write e.g. 5M-20M or 5e6-2e7)") from None

    parts = str(text).replace(":", "-").split("-")
    parts = _rejoin_exponents(parts)
    if len(parts) != 2:
        raise DesignSpaceError(f"bad complexity band {text!r}: write LOW-HIGH, e.g. 5M-20M")
    low, high = number(parts[0]), number(parts[1])
    if not (math.isfinite(low) and math.isfinite(high)):  # 'inf' parses as a float
        raise DesignSpaceError(f"bad complexity band {text!r}: both bounds must be numbers "
                               "(for no upper bound, write one above the space's largest, "
                               "e.g. 1M-100G)")
    if not 0 <= low < high:
        raise DesignSpaceError(f"bad complexity band {text!r}: need 0 <= LOW < HIGH")
    return low, high


def format_band(band: tuple[float, float] | list | None) -> str:
    """(5e6, 2e7) -> '5M-20M', (5e5, 5e9) -> '500K-5G' (as parse_band reads it); None ->
    'any'."""
    if not band:
        return "any"

    def short(v: float) -> str:
        # T as parse_band reads it: a band of 1.2e12 read "1200G"
        scale, suffix = next(((x, u) for x, u in ((1e12, "T"), (1e9, "G"), (1e6, "M"),
                                                   (1e3, "K"))
                              if abs(v) >= x), (1.0, ""))
        return f"{v / scale:g}{suffix}"

    return "-".join(short(float(v)) for v in band)


def _rejoin_exponents(parts: list[str]) -> list[str]:
    # '1e-3-2e-3' splits at the exponent signs too; glue 'e' + '3' back together.
    out: list[str] = []
    for part in parts:
        if out and out[-1].upper().endswith("E"):
            out[-1] += "-" + part
        else:
            out.append(part)
    return out


def sample(space: str, rng: np.random.Generator | int, *, image_size: int = 28,
           in_channels: int = 1, num_classes: int = 10,
           macs: tuple[float, float] | None = None, ranges: SpaceRanges | None = None,
           max_tries: int = 20_000) -> Sample:
    """A draw from ``space`` whose MACs at this input lie in ``macs`` (LOW, HIGH).

    ``rng`` draws it (a seed is taken for ``np.random.default_rng(seed)``: a notebook's
    ``sample("anynetx_e", 0)`` failed on ``int.choice``); the input is ``in_channels`` x
    ``image_size`` x ``image_size``
    and the head has ``num_classes`` outputs. ``ranges``: what to draw from (default
    :meth:`SpaceRanges.for_input` at ``image_size``). A DesignSpaceError once
    ``max_tries`` networks of the space fell outside the band.

    Rejection sampling: draws outside the band are discarded, as in the paper's
    360-400 MF sweeps. Complexity is analytic (no model is built).
    """
    ranges = ranges or SpaceRanges.for_input(image_size)
    check_space(space)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    seen: list[int] = []
    # ``max_tries`` counts networks of the space tried against the band; draws outside
    # the space itself (about 199 of 200 for AnyNetX_E) are cheap and counted apart. The
    # stop at 100 draws per try is for ranges that give no network at all: once some
    # come, max_tries of them are tried (AnyNetX_E had given up after about half).
    raw = 0
    while len(seen) < max_tries and (seen or raw < 100 * max_tries):
        batch, drawn = _draws(space, rng, ranges)
        raw += drawn
        for s in batch:
            cx = anynet_complexity(s.config, image_size, in_channels, num_classes)
            if macs is None or macs[0] <= cx["flops"] <= macs[1]:
                return Sample(s.space, s.params, s.config, cx)
            seen.append(cx["flops"])
            if len(seen) >= max_tries:
                break
    if raw and not seen:  # not the band's doing: ``ranges`` (a caller's) allow no network
        raise DesignSpaceError(f"no {space} network in {raw} draws from these ranges: "
                               "none meets the space's rules; widen them")
    hint = ""
    if seen:
        # As every count of MACs is written (380K, 12.1M; not 0.38M, 12.05M), and the
        # band as --macs takes it (1T-2T, not [1e+12, 2e+12])
        q = [format_count(v) for v in np.percentile(seen, [10, 50, 90])]
        hint = (f"; this space's MACs at {image_size}x{image_size}: 10% {q[0]}, "
                f"median {q[1]}, 90% {q[2]}")
    raise DesignSpaceError(f"no {space} network with MACs in {format_band(macs)} "
                           f"among {len(seen)} networks of the space ({raw} draws): widen "
                           f"the band{hint}")


def trial_rng(seed: int, index: int, space: str) -> np.random.Generator:
    """The generator of trial ``index``: depends on (seed, index, space) only, so a
    sweep can be resumed or extended and every trial is drawn the same way again."""
    return np.random.default_rng([seed, index, zlib.crc32(space.encode())])


def sample_trial(space: str, seed: int, index: int, **kwargs) -> Sample:
    """Trial ``index`` of a seeded sweep (keywords as for :func:`sample`)."""
    return sample(space, trial_rng(seed, index, space), **kwargs)


# ---------------------------------------------------------------- building


def config_to_overrides(cfg: AnyNetConfig) -> dict:
    """AnyNetConfig fields as plain lists/numbers: JSON- and YAML-safe model overrides.
    ``AnyNetConfig(**overrides)`` reads them back (its lists become tuples again)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
