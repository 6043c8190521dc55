"""CNNLAB_NO_FIGURES read as a person writes it: spaces around an "off" word still mean
figures are drawn."""

from cnnlab.figures import NO_FIGURES_VARIABLE, figures_skipped


def test_an_off_word_with_spaces_around_it_draws_the_figures(monkeypatch):
    monkeypatch.setenv(NO_FIGURES_VARIABLE, " off ")
    assert not figures_skipped()
    monkeypatch.setenv(NO_FIGURES_VARIABLE, " 1 ")
    assert figures_skipped()
