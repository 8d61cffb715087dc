"""The child side of `amin.report.cells.run_limited`: read a pickled (function, args) from stdin, set the memory
limit, run it, and write a pickled (ok, value-or-message) to stdout."""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    memory, fn, args = pickle.load(sys.stdin.buffer)
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
    pickle.dump(answer, sys.stdout.buffer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
