"""Datasets: loading and verification (``store``), few-shot subsets (``subsets``), synthetic data."""

from synthlib.data.store import (
    DATA_ENV_VAR,
    DatasetError,
    ImageDataset,
    data_root,
    dataset_path,
    known_dataset_names,
    load_dataset,
)
from synthlib.data.subsets import PAPER_PER_CLASS, FewShotSplit, few_shot_split
from synthlib.data.synthetic import SYNTHETIC_DATASETS

__all__ = [
    "DATA_ENV_VAR",
    "PAPER_PER_CLASS",
    "SYNTHETIC_DATASETS",
    "DatasetError",
    "FewShotSplit",
    "ImageDataset",
    "data_root",
    "dataset_path",
    "few_shot_split",
    "known_dataset_names",
    "load_dataset",
]
