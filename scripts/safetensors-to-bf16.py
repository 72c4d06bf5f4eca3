#!/usr/bin/env python3
"""Rewrite a safetensors file with every F32 tensor stored as BF16 (round to nearest even).

Used once for demo/recall-teacher/model.safetensors, which `lolcats pretrain` writes in float32.
Needs only numpy. Usage: scripts/safetensors-to-bf16.py IN.safetensors OUT.safetensors
Other dtypes are copied unchanged; the metadata and tensor order are kept.
"""
import json
import os
import struct
import sys

import numpy as np


def to_bf16(f32: np.ndarray) -> np.ndarray:
    bits = f32.view(np.uint32)
    if np.any(~np.isfinite(f32)):
        fail("non-finite values; refusing to convert")
    # Round to nearest, ties to even, on the 16 bits that are dropped.
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def fail(message: str) -> None:
    """One line on stderr and exit code 2, as every lolcats command does on bad input."""
    print(f"safetensors-to-bf16: {message}", file=sys.stderr)
    sys.exit(2)


def main(src: str, dst: str) -> None:
    if os.path.lexists(dst):
        fail(f"{dst}: already exists (this script never overwrites; remove it first)")
    try:
        with open(src, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > 100_000_000:
                raise ValueError(f"header length {n}")
            header = json.loads(f.read(n))
            data = f.read()
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except OSError as e:
        fail(f"{src}: cannot read ({e.strerror})")
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        fail(f"{src}: not a safetensors file ({e})")
    out_header, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out_header[name] = info
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        dtype = info["dtype"]
        if dtype == "F32":
            raw = to_bf16(np.frombuffer(raw, dtype="<f4").copy()).astype("<u2").tobytes()
            dtype = "BF16"
        out_header[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with open(tmp, "xb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for c in chunks:
                f.write(c)
        os.link(tmp, dst)  # into place only when complete, and never over an existing file
    except FileExistsError:
        fail(f"{dst}: already exists (this script never overwrites; remove it first)")
    except OSError as e:
        fail(f"{dst}: cannot write ({e.strerror})")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
