"""The child side of `amin.harness.report.cells.run_limited`: read a pickled (memory, answer path, function, args) from
stdin, set the memory limit, run the function, and write a pickled (ok, value-or-message) to the answer file.

The answer never travels on stdout: a solver library may print there (HiGHS 1.16 prints a banner from C), so
file descriptor 1 is pointed at stderr before anything else runs.
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    os.dup2(2, 1)  # anything written to fd 1, from Python or from C, goes to stderr
    sys.stdout = sys.stderr
    memory, answer_path, fn, args = pickle.load(sys.stdin.buffer)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on every platform
        pass
    try:
        answer = (True, fn(*args))
    except MemoryError:
        answer = (False, f"exceeded the memory limit of {memory >> 20} MiB")
    except Exception as e:  # noqa: BLE001 - reported to the parent as the cell's reason
        answer = (False, f"{type(e).__name__}: {e}".splitlines()[0])
    tmp = answer_path + ".part"
    with open(tmp, "wb") as f:
        pickle.dump(answer, f)
    os.replace(tmp, answer_path)  # the parent sees a whole answer or none


if __name__ == "__main__":
    main()
