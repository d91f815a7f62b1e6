"""Not a test itself (the runner only runs test_* files): a tigris worker
written from docs/protocol.md alone, in Python. It proves the worker protocol
can be implemented elsewhere, and the reliability tests use it to misbehave
on purpose (crash on a poison item, answer with an oversized frame).

Run as: fakeworker.py ENDPOINT MODE   where MODE is
  ok          answer every item with one tag "test"
  poison      exit(3) without answering when an item's title contains POISON
  oversize    answer an item whose title contains BIG with a 2 MB frame, then fall silent
"""

import os
import struct
import sys
import time

import zmq


def header(t):
    return b"TG" + t + b"\x01"


def result(delivery, relevant=False):
    tags = struct.pack(">B", 1) + struct.pack(">B", 4) + b"test" + struct.pack(">ffB", 1.0, 0.5, 0)
    return [header(b"R"), struct.pack(">Q", delivery), b"fake-1", struct.pack(">B", 1 if relevant else 0), tags]


def main():
    endpoint, mode = sys.argv[1], sys.argv[2]
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    hello = [header(b"H"), struct.pack(">I", 4), struct.pack(">I", os.getpid())]
    s.send_multipart(hello)
    next_hello = time.time() + 1
    while True:
        if time.time() >= next_hello:
            s.send_multipart(hello)
            next_hello = time.time() + 1
        if not s.poll(200):
            continue
        frames = s.recv_multipart()
        if len(frames) != 7 or frames[0] != header(b"I"):
            continue
        (delivery,) = struct.unpack(">Q", frames[1])
        title = frames[4].decode("utf-8", "replace")
        if mode == "poison" and "POISON" in title:
            os._exit(3)
        if mode == "oversize" and "BIG" in title:
            s.send_multipart([header(b"R"), struct.pack(">Q", delivery), b"x" * (2 << 20), b"\x00", b"\x00"])
            while True:  # then fall silent: no more HELLOs, so it is not taken back
                time.sleep(1)
        s.send_multipart(result(delivery))


if __name__ == "__main__":
    main()
