"""tinygrad_cn benchmarks.

    python -m benchmarks [--quick] [--only SECTION[,SECTION]] [--threads 1,2] [--no-plot] [--outdir DIR]

runs the whole suite (benchmarks/run.py); bench_matmul.py, bench_elementwise.py
and overhead.py are standalone scripts for a closer look at one area.
"""
