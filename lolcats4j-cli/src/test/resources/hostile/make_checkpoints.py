#!/usr/bin/env python3
"""Writes the hostile and the optimizer-state torch.save fixtures of HostileInputTest.

torch is not needed: the real reference checkpoint (parity/adapters/llama-f32-sw-lora/
reference_pt/distill.pt) is unpickled with stand-ins for torch's globals and pickled again, in
torch.save's zip layout (<name>/data.pkl, <name>/data/<key>, <name>/version), with the changes
each case needs. Run from this folder: python3 make_checkpoints.py
"""
import io
import pickle
import struct
import sys
import types
import zipfile

SOURCE = "../parity/adapters/llama-f32-sw-lora/reference_pt/distill.pt"

# Stand-ins that pickle under torch's names.
torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils
torch._utils = utils


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage


class LongStorage:
    pass


LongStorage.__module__ = "torch"
torch.LongStorage = LongStorage


class Storage:
    """A storage reference: pickled as torch's persistent id."""

    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce__(self):
        from collections import OrderedDict
        return (utils._rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, OrderedDict()))


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, *rest):
    return Tensor(storage, offset, size, stride)


_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Reader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch", "FloatStorage"):
            return FloatStorage
        return super().find_class(module, name)

    def persistent_load(self, pid):
        _, kind, key, location, numel = pid
        return Storage(kind, key, numel)


class Writer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def read_source():
    z = zipfile.ZipFile(SOURCE)
    top = Reader(io.BytesIO(z.read("distill/data.pkl"))).load()
    blobs = {n.split("/")[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
    return top, blobs


def write(name, top, blobs, compress=zipfile.ZIP_STORED, pickle_bytes=None, protocol=2):
    buf = io.BytesIO()
    Writer(buf, protocol=protocol).dump(top)
    data = pickle_bytes if pickle_bytes is not None else buf.getvalue()
    with zipfile.ZipFile(name, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for key, blob in blobs.items():
            z.writestr("archive/data/" + key, blob)
        z.writestr("archive/version", "3\n")


def main():
    top, blobs = read_source()
    state = top["model_state_dict"]
    first = next(iter(state.values()))

    # A checkpoint that also holds optimizer and scheduler state, as a training script saves it:
    # lists of one item (APPEND) and of several (APPENDS), floats, None, bools, tuples, int keys,
    # 0-dim step tensors in a LongStorage. It must import like the plain one.
    blobs_opt = dict(blobs)
    blobs_opt["90"] = struct.pack("<q", 100)
    step = Tensor(Storage(LongStorage, "90", 1), 0, (), ())
    top_opt = dict(top)
    top_opt["optimizer_state_dict"] = {
        "state": {0: {"step": step, "exp_avg": first, "exp_avg_sq": first}},
        "param_groups": [
            {"params": [0], "lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False, "foreach": None, "maximize": False, "capturable": False},
            {"params": [1, 2, 3], "lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False, "foreach": None, "maximize": False, "capturable": False},
        ],
    }
    top_opt["scheduler_state_dict"] = {"best": float("inf"), "num_bad_epochs": 0, "_last_lr": [0.01], "mode": "min"}
    write("with-optimizer.pt", top_opt, blobs_opt)

    def with_tensor(tensor, extra_blobs=None):
        s = dict(state)
        s[next(iter(state))] = tensor
        t = dict(top)
        t["model_state_dict"] = s
        b = dict(blobs)
        b.update(extra_blobs or {})
        return t, b

    # A storage that claims 2^40 floats: the file holds a few hundred bytes.
    write("storage-beyond-file.pt", *with_tensor(Tensor(Storage(FloatStorage, "0", 1 << 40), 0, (1 << 20, 1 << 20), (1 << 20, 1))))
    # Sizes whose product overflows 64 bits (was an ArithmeticException).
    write("size-overflow.pt", *with_tensor(Tensor(first.storage, 0, (1 << 40, 1 << 40), (0, 0))))
    # Zero strides: 10^8 elements viewed over a storage of a few hundred.
    write("zero-stride.pt", *with_tensor(Tensor(first.storage, 0, (10000, 10000), (0, 0))))
    # A storage entry shorter than its element count.
    write("truncated-storage.pt", *with_tensor(Tensor(Storage(FloatStorage, "77", 4096), 0, (4096,), (1,)), {"77": b"\0" * 100}))
    # data.pkl that inflates to 80 MB of zeros from about 80 kB (a compression bomb).
    write("pickle-bomb.pt", top, blobs, compress=zipfile.ZIP_DEFLATED, pickle_bytes=b"\0" * (80 << 20))
    # A list that contains itself.
    loop = []
    loop.append(loop)
    t = dict(top)
    t["extra"] = loop
    write("self-reference.pt", t, blobs)
    # Lists nested 5,000 deep.
    sys.setrecursionlimit(100000)
    deep = []
    for _ in range(5000):
        deep = [deep]
    t = dict(top)
    t["extra"] = deep
    write("deep-nesting.pt", t, blobs)
    # A global that is not a tensor building block: os.system("true") if executed.
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R."
    write("unknown-global.pt", top, blobs, pickle_bytes=evil)


if __name__ == "__main__":
    main()
