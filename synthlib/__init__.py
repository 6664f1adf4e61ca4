"""synthlib: CNN kernels sampled from biological synaptic-strength distributions, frozen, versus
a CNN trained end to end (a reproducible study of Karimi et al., CCN 2017).

Modules, one concept each:

- ``samplers``: weight samplers (``normal``, ``lognormal``, ``center_surround``) in a registry;
- ``data``: dataset files and downloads, few-shot subsets, built-in synthetic data;
- ``preprocess``: uint8 images to normalised tensors;
- ``models``: the paper's CNN;
- ``training``: the training loop, frozen-feature extraction, evaluation;
- ``experiment``: methods (the table's columns), run options and runs;
- ``protocols``: the three named protocols (``paper``, ``authors_code``, ``sound``);
- ``tuning``: hyperparameter choice on validation data;
- ``baselines``, ``baseline_runs``: fixed-feature baselines (pixels, scattering) as table columns;
- ``records``: run records on disk;
- ``tables``, ``paper``, ``plots``: results against the paper's Table 1, paired comparisons;
- ``verdict``: the paper's claims judged under each protocol.
"""

__version__ = "0.1.0"
