"""Process-wide hooks the hot path checks with one attribute read."""
profiler = None  # the active autograd.profiler.profile, if any
