"""Write output fast: a flood of deterministic lines, invalid UTF-8, or one huge line.

usage: spew.py flood BYTES | spew.py badutf8 | spew.py longline BYTES
flood_line(i) is imported by the tests to check the log byte for byte.
"""
import sys


def flood_line(i: int) -> bytes:
    """Line i (with newline): 8-digit counter, then 0..150 bytes of text, some of it non-ASCII."""
    body = ("abcdefghij" * 16)[: (i * 37) % 151]
    if i % 97 == 0:
        body += " café ₹ 東京"
    return f"{i:08d} {body}\n".encode()


def main() -> None:
    kind = sys.argv[1]
    out = sys.stdout.buffer
    if kind == "flood":
        total = int(sys.argv[2])
        written = 0
        i = 0
        while written < total:
            line = flood_line(i)
            out.write(line)
            written += len(line)
            i += 1
        out.flush()
        sys.stderr.write(f"spew lines={i} bytes={written}\n")
    elif kind == "badutf8":
        out.write(b"valid caf\xc3\xa9\n")
        out.write(b"invalid caf\xe9 \xff\xfe end\n")
        out.flush()
    elif kind == "longline":
        size = int(sys.argv[2])
        out.write(b"0123456789" * (size // 10) + b"x" * (size % 10))
        out.flush()
    else:
        raise SystemExit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
