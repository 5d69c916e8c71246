"""heard-local benchmarks: ``python -m benchmarks [NAME…] [--quick]`` prints one table."""
