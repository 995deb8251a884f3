"""What people touch: settings, the ``workflow`` CLI, and (later) the HTTP API and the serve process."""
