"""The outermost shell: the Flask app, the `o2c` CLI and the scheduler's start."""
