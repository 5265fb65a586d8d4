"""Streaming decoders for the Content-Encodings a partner may send: gzip, deflate and br.

Each yields the output of one input chunk in pieces of at most about ``_PIECE`` bytes, so the
fetcher can stop at its body cap before the next piece is even inflated (a gzip bomb is cut
off, never inflated whole).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

import brotli

__all__ = ["DECODING_ERRORS", "Decoder", "decode", "decoders_for"]

_PIECE = 64 * 1024
# What a decoder raises on a corrupt or truncated body.
DECODING_ERRORS = (zlib.error, brotli.error, ValueError)


class Decoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> None: ...


class _ZlibDecoder:
    """gzip (RFC 1952, several members allowed) or deflate (RFC 1950 zlib, or raw RFC 1951)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._pending = b""
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            # RFC 9110 §8.4.1.2 says "deflate" is zlib-wrapped, but some servers send raw
            # deflate; the first two bytes tell which (RFC 1950 §2.2 header check).
            self._pending += data
            if len(self._pending) < 2:
                return
            data, self._pending = self._pending, b""
            cmf, flg = data[0], data[1]
            wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        inflater = self._inflater
        while True:
            out = inflater.decompress(data, _PIECE)
            data = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                data = inflater.unused_data
                if not (self._gzip and data[:2] == b"\x1f\x8b"):
                    return  # trailing bytes after the stream are ignored, as browsers do
                inflater = self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif not data and len(out) < _PIECE:
                return

    def finish(self) -> None:
        if self._inflater is None or not self._inflater.eof:
            raise ValueError("compressed body is truncated")


class _BrotliDecoder:
    """br (RFC 7932), with the output bounded per call (brotli >= 1.2)."""

    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        d = self._decompressor
        out = d.process(data, output_buffer_limit=_PIECE)
        if out:
            yield out
        while not d.can_accept_more_data():
            out = d.process(b"", output_buffer_limit=_PIECE)
            if not out:
                break  # no progress: never spin; a misuse then surfaces as brotli.error
            yield out

    def finish(self) -> None:
        if not self._decompressor.is_finished():
            raise ValueError("compressed body is truncated")


def decoders_for(content_encodings: Sequence[str]) -> list[Decoder]:
    """Decoders in the order to apply them: the reverse of the order the codings were."""
    codings = [c.strip().lower() for value in content_encodings for c in value.split(",")]
    decoders: list[Decoder] = []
    for coding in reversed(codings):
        if coding in ("", "identity"):
            continue
        if coding in ("gzip", "x-gzip"):  # RFC 9110 §8.4.1.3
            decoders.append(_ZlibDecoder(gzip=True))
        elif coding == "deflate":
            decoders.append(_ZlibDecoder(gzip=False))
        elif coding == "br":
            decoders.append(_BrotliDecoder())
        else:
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return decoders


def decode(decoders: Sequence[Decoder], data: bytes) -> Iterator[bytes]:
    if not decoders:
        if data:
            yield data
        return
    for piece in decoders[0].decode(data):
        yield from decode(decoders[1:], piece)
