"""The paper's baselines, registered with tsfilm through the ``tsfilm.models`` entry point."""

from tsfilm_baselines import (  # noqa: F401
    classification,
    imputation,
    super_resolution,
)
