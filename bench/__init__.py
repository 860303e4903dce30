"""The project's own benchmark (``make bench``) and its session seeder (``python -m bench.seed``)."""
