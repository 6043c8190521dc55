"""compare: runs of differing train_subsets of one training split compare; runs whose
counts show two splits of one name (a folder whose images changed between them) are
still told they trained on different data."""

from compare_helpers import FINISHED, make_run, three_epochs

from cnnlab.train import compare_runs

OTHER = "the runs trained on different data: their accuracies do not compare"


def _run(root, name, subset, trained):
    return make_run(root, name, three_epochs(0.5, 0.6, 0.7),
                    {**FINISHED, "train_images": trained, "eval_images": 100},
                    data="folder:/photos", train_subset=subset)


def test_subsets_that_one_training_split_cannot_give_are_other_data(tmp_path):
    # 450 images then 4,500: subsets of 1,000 and 2,000 trained 450 and 2,000
    grown = [_run(tmp_path, "a", 1000, 450), _run(tmp_path, "b", 2000, 2000)]
    assert OTHER in compare_runs(grown).notes()
    # the whole split twice, of two sizes
    both = [_run(tmp_path, "c", 1000, 450), _run(tmp_path, "d", None, 600)]
    assert OTHER in compare_runs(both).notes()


def test_subsets_one_training_split_gives_compare(tmp_path):
    # 450 images: a subset of 1,000 and no subset both train all 450; 200 of them
    fits = [_run(tmp_path, "a", 1000, 450), _run(tmp_path, "b", None, 450),
            _run(tmp_path, "c", 200, 200)]
    assert OTHER not in compare_runs(fits).notes()
    assert OTHER not in compare_runs([_run(tmp_path, "d", 64, 64),
                                      _run(tmp_path, "e", 128, 128)]).notes()
