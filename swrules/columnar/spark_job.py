"""The command line as a file for ``spark-submit``, which takes a Python file where ``python -m`` takes a module.

Run in the driver that spark-submit starts, ``--engine spark`` evaluates in the session spark-submit configured
(its ``--master``, ``--conf`` …)::

    spark-submit --master spark://head:7077 "$(python -m swrules.columnar.spark_job --path)" \\
        evaluate /shared/population --ruleset zhejiang-2019 --period 2021 --engine spark --out /shared/result.json

``python -m swrules.columnar.spark_job --path`` prints this file's path; any other arguments are those of
``swrules`` (``python -m swrules``), run as they are.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    """Print this file's path (``--path``), or run the command line with the arguments given."""
    if sys.argv[1:] == ["--path"]:
        print(__file__)
        return
    runpy.run_module("swrules", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
