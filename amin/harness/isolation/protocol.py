"""The wire format between the verifier and the policy's process: length-prefixed JSON frames over a socket.

Only JSON crosses the boundary, in both directions: nothing the policy's process
sends can run code in the verifier (unpickling its replies could).
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Sequence
from typing import Any

MAX_FRAME = 64 * 1024 * 1024  # a reply larger than this is not a decision, it is an attack on the verifier's memory
_HEADER = struct.Struct(">I")

JOB_FIELDS = ("index", "planned_length", "tie_rank", "start", "progress", "evictions", "wasted_tokens", "completion")
"""The online state of a job, in wire order (the request's public fields travel once per job, beside it)."""

REQUEST_FIELDS = ("prompt", "lower", "upper", "arrival", "id", "predicted")
"""The public view of a request: everything but the true output length."""


class ChannelClosed(EOFError):
    """The other end closed the channel: its process exited or dropped the socket."""


class ChannelTimeout(TimeoutError):
    """No complete frame arrived within the time allowed."""


class ChannelError(ValueError):
    """A frame that is too large or not JSON."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def encode(obj: Any) -> bytes:
    """One frame: a 4-byte big-endian length, then compact JSON (no NaN or infinity)."""
    payload = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return _HEADER.pack(len(payload)) + payload


def send(sock: socket.socket, obj: Any, fds: Sequence[int] = (), deadline: float | None = None) -> None:
    """Send one frame before `deadline` (time.monotonic), passing `fds` (file descriptors) with its first bytes."""
    data = encode(obj)
    try:
        if fds:
            sock.settimeout(None)
            sent = socket.send_fds(sock, [data], list(fds))
            data = data[sent:]
        if data:
            # A peer that stops reading must not block the sender forever once the socket buffer is full.
            sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 1e-3))
            sock.sendall(data)
    except TimeoutError:
        raise ChannelTimeout("deadline passed") from None
    except OSError as e:
        raise ChannelClosed(str(e)) from None


def recv(sock: socket.socket, deadline: float | None = None, *, with_fds: bool = False) -> Any:
    """Receive one frame (and, `with_fds`, the descriptors sent with it) before `deadline` (time.monotonic)."""
    fds: list[int] = []
    head = b""
    if with_fds:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise ChannelTimeout("deadline passed")
        sock.settimeout(left)
        try:
            head, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 4)
        except TimeoutError:
            raise ChannelTimeout("deadline passed") from None
        except OSError as e:
            raise ChannelClosed(str(e)) from None
        if not head:
            raise ChannelClosed("end of stream")
    head += _recv_exact(sock, _HEADER.size - len(head), deadline)
    (size,) = _HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ChannelError(f"a frame of {size} bytes (at most {MAX_FRAME} accepted)")
    payload = _recv_exact(sock, size, deadline)
    try:
        obj = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ChannelError(f"not a JSON frame: {str(e)[:100]}") from None
    return (obj, fds) if with_fds else obj


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is None:
            sock.settimeout(None)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout("deadline passed")
            sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except TimeoutError:
            raise ChannelTimeout("deadline passed") from None
        except OSError as e:
            raise ChannelClosed(str(e)) from None
        if not chunk:
            raise ChannelClosed("end of stream")
        buf += chunk
    return bytes(buf)
