"""Benchmarks, each measured against its baseline in the same process.

- :mod:`~cnnlab.bench.zoo` (:mod:`~cnnlab.bench.zoo_report`,
  :mod:`~cnnlab.bench.zoo_setup`): every model trained with one recipe, accuracy beside
  cost (``cnnlab bench zoo``), one setup an output folder;
- :mod:`~cnnlab.bench.throughput`: training and inference speed per model
  (``cnnlab bench throughput``; :mod:`~cnnlab.bench.timing` times the steps,
  :mod:`~cnnlab.bench.peaks` holds the GPUs' data-sheet peaks its share of peak is of);
- :mod:`~cnnlab.bench.ops`, :mod:`~cnnlab.bench.pooling`, :mod:`~cnnlab.bench.loader`,
  :mod:`~cnnlab.bench.memory`: the from-scratch convolutions and pooling, the DeviceLoader
  and DenseNet's checkpointing against PyTorch's, the book's DataLoader and the plain
  DenseNet;
- :mod:`~cnnlab.bench.speedrun` (:mod:`~cnnlab.bench.speedrun_study`): time to a target
  Fashion-MNIST accuracy (``cnnlab speedrun``);
- :mod:`~cnnlab.bench.results`: how the rows are stored, with the machine;
  :mod:`~cnnlab.bench.complexity`: parameters and MACs counted on the meta device, cached
  for ``cnnlab models`` (and used by the zoo).
"""
