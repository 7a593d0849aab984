"""The paper's baselines, registered with tsfilm through the ``tsfilm.models`` entry point."""
