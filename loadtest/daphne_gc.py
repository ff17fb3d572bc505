"""
Daphne with tuned garbage collection, for the ``companion-gc`` variant of the
load tool (an experiment on the harness side; the app is unchanged):

    LOADTEST_GC_THRESHOLD=50000,50,1000 python -m loadtest.daphne_gc [daphne args] APP

imports the ASGI app, moves everything allocated so far out of the collector's
sight (``gc.freeze()``), sets the thresholds, then runs Daphne's own CLI. With
thousands of sockets the cyclic collector otherwise walks every connection's
objects again and again (measured: about 30% of the main thread at 5,000 sockets).
"""
import gc
import importlib
import os
import sys


def main():
    app = sys.argv[-1]
    module = app.split(":", 1)[0]
    sys.path.insert(0, os.getcwd())
    importlib.import_module(module)
    gc.collect()
    gc.freeze()
    threshold = os.environ.get("LOADTEST_GC_THRESHOLD", "50000,50,1000")
    gc.set_threshold(*(int(x) for x in threshold.split(",")))
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
