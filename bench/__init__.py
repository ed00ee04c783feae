"""Voicebank's benchmarks: each figure is a ratio against a baseline measured in the same run.

Run them with ``python -m bench`` (``--quick`` for a smoke run, ``--full`` for the sizes the
targets are set at); see ``python -m bench --help``.
"""
