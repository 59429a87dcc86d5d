"""Shared fixtures: the repository root and the `snnc` command line built
from the same workspace (``SNNC_BIN``, or ``cargo run --release``)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def snnc_cli():
    """A function running ``snnc ARGS…`` in the repository root."""
    binary = os.environ.get("SNNC_BIN")
    prefix = [binary] if binary else ["cargo", "run", "--release", "-q", "-p", "snnc", "--"]

    def run(*args, ok=True):
        done = subprocess.run(prefix + [str(a) for a in args], cwd=ROOT,
                              capture_output=True, text=True)
        assert (done.returncode == 0) == ok, done.stderr
        return done

    return run
