"""End-to-end load benchmark: callrec under N concurrent recorded calls on the real sandbox, against
the same pattern with Asterisk alone (app_queue). Run: python -m benchmarks.load.run."""
