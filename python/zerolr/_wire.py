"""The wire format of the zerolr worker protocol: JSON lines and hex-float strings.

Every real number crosses the pipe as a C99 hexadecimal floating-point string
(``"0x1.8p+1"``, ``"-0x0.0p+0"``) or one of the words ``"inf"``, ``"-inf"``, ``"nan"``, so
that values keep every bit. See docs/worker-protocol.md.
"""

import json
import os
import re

# A C99 hex float as printf("%a") and float.hex write it (the exponent may be left out, as
# strtod allows), or a non-finite word. A NaN's sign is not kept, so "-nan" (what glibc's
# printf writes for a negative NaN) is read as nan too.
_HEX_FLOAT = re.compile(
    r"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?|inf|nan)"
)


class ProtocolError(ValueError):
    """A request that does not follow the protocol (its message is sent back)."""


def from_hex(text):
    """The float a wire string stands for; ProtocolError when it is not a hex float."""
    if type(text) is not str or not _HEX_FLOAT.fullmatch(text):
        raise ProtocolError(f"not a hex float: {json.dumps(text)}")
    return float.fromhex(text)


def floats_from_hex(values, n, what):
    """A list of ``n`` floats from the list of wire strings ``values`` (field ``what``)."""
    if type(values) is not list:
        raise ProtocolError(f"'{what}' must be a list of hex-float strings")
    if len(values) != n:
        raise ProtocolError(f"'{what}' has {len(values)} values, expected {n}")
    return [from_hex(v) for v in values]


def one_line(text):
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def describe(exc):
    """``ExcType: message`` of an exception, on one line."""
    return one_line(f"{type(exc).__name__}: {exc}")


class Channel:
    """The protocol's two pipes, read and written through private file descriptors.

    The descriptors are duplicates of the original standard input and output, taken before
    fd 0 is pointed at /dev/null and fd 1 at standard error, so that nothing user code reads
    or prints (from Python or from C) can touch the protocol.
    """

    def __init__(self, in_fd, out_fd):
        self._in = os.fdopen(in_fd, "rb")
        self._out_fd = out_fd

    @classmethod
    def take_standard_streams(cls):
        """Claims fds 0 and 1 for the protocol and leaves their numbers to harmless stand-ins."""
        channel = cls(os.dup(0), os.dup(1))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        return channel

    def send(self, message):
        """Writes one JSON object as one line, unbuffered."""
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        while data:
            written = os.write(self._out_fd, data)
            data = data[written:]

    def receive(self):
        """The next request line (bytes, without the newline), or None at end of input."""
        line = self._in.readline()
        if not line:
            return None
        return line.rstrip(b"\r\n")
