"""synthlib: CNN kernels sampled from biological synaptic-strength distributions, frozen, versus
a CNN trained end to end (a reproducible study of Karimi et al., CCN 2017).

Modules, one concept each, bottom-up:

- ``samplers``: weight samplers in a registry (plug-ins through the ``synthlib.samplers`` entry points);
- ``data``: dataset files and downloads, few-shot subsets, built-in synthetic data;
- ``preprocess``: uint8 images to normalised tensors;
- ``models``, ``features``, ``heads``, ``training``: the paper's CNN, frozen features, batched heads,
  the training loop;
- ``records``, ``engine``: run records on disk, keyed by configuration, and the loop that executes runs;
- ``experiment``, ``baselines``, ``baseline_runs``: the table's columns and fixed-feature baselines as runs;
- ``tuning``: hyperparameter choice on validation data;
- ``study``: what a study is, and the registry; ``protocols`` (``paper``, ``authors_code``, ``sound``)
  and ``learning_curves`` are studies; ``all_studies`` loads them all;
- ``launch``, ``runner``: where runs execute (in process, local processes, Slurm) and the pilot loop;
- ``stats``, ``verdict``, ``curves``: paired tests and the paper's claims judged; the learning curves compared
  (``lengths``: only runs whose training lengths were decided alike);
- ``tables``, ``paper``, ``deviations``, ``plots``, ``verdict_matrix``: results against the paper's
  Table 1, the paper's published values and how the study departs from them, figures;
- ``audit``, ``reproduction``, ``evaluate``, ``cli``: the records check, the comparison of two results
  folders, a researcher's own sampler against the study, and ``python -m synthlib``.
"""

__version__ = "0.1.0"
