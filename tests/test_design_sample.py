"""`cnnlab design sample`: its counts in one precision, and its columns explained."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design.describe import format_count
from cnnlab.design.spaces import parse_band, sample_trial


def test_sample_counts_share_three_significant_figures_and_acts_is_explained():
    result = CliRunner().invoke(app, ["sample", "--space", "anynetx_e", "--n", "3",
                                      "--macs", "1M-4M"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines()
            if line.startswith("│")]
    assert len(rows) == 3
    for i, row in enumerate(rows):
        s = sample_trial("anynetx_e", 0, i, image_size=28, in_channels=1, num_classes=10,
                         macs=parse_band("1M-4M"))
        # It showed MACs with 2 decimals, params with 3 ('2.41M' beside '1.681M').
        assert row[-3:] == [format_count(s.macs), format_count(s.complexity["params"]),
                            format_count(s.complexity["acts"])]
    assert rows[0][-3:] == ["2.41M", "1.68M", "45.3K"]
    said = " ".join(result.output.split())
    assert "acts: activations per image" in said and "RegNet paper" in said
    assert "MACs: multiply-adds per image at 28x28" in said
    # The column is pycls's ratio, the reciprocal of the paper's b: said so.
    assert "Bottleneck ratio: inner width / block width, 1/b for the paper's b" in said
