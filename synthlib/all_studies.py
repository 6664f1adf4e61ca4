"""Every built-in study, registered: import this module to see the whole registry (``synthlib.study``).

The protocols register themselves when ``synthlib.protocols`` is imported and the learning curves when
``synthlib.learning_curves`` is; code that handles every study (the records check, the command line)
imports this module, so that no study is missing because its module happened not to be imported.
"""

from __future__ import annotations

import synthlib.learning_curves
import synthlib.protocols
from synthlib.study import Study, dependency_order, get_study, study_names

BUILT_IN = (synthlib.protocols.__name__, synthlib.learning_curves.__name__)
"""The modules that register the built-in studies."""

__all__ = ["BUILT_IN", "Study", "dependency_order", "get_study", "study_names"]
