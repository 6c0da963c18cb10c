"""bench_digest: synthetic readers and papers, the real daily run measured phase by phase.

The benchmark refuses a database that already holds readers, topics, papers or
deliveries, and deletes everything it wrote when it ends (see docs/performance.md).
"""
