"""Reads and writes safetensors files (https://github.com/huggingface/safetensors) with numpy: an 8-byte little-endian
header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data."""

import json
import os
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def save_file(tensors, path, dtype_names=None):
    """Writes an ordered mapping name -> numpy array; dtype_names may override a tensor's dtype tag (e.g. BF16 stored as
    uint16 bits). The file is written to a temporary name and renamed, so a reader never sees half a file."""
    dtype_names = dtype_names or {}
    header, offset, arrays = {}, 0, []
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        tag = dtype_names.get(name) or _NAMES.get(array.dtype)
        if tag is None:
            raise ValueError("tensor %r has dtype %s, which safetensors files here do not carry" % (name, array.dtype))
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": tag, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        arrays.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    temporary = "%s.tmp-%d" % (path, os.getpid())
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for data in arrays:
            f.write(data)
    os.replace(temporary, path)


def load_file(path):
    """Returns (ordered dict name -> numpy array, dict name -> dtype tag), tensors in data order."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s is not a safetensors file: shorter than its header length" % path)
    (length,) = struct.unpack("<Q", raw[:8])
    if 8 + length > len(raw):
        raise ValueError("%s is not a safetensors file: the header runs past the end" % path)
    header = json.loads(raw[8:8 + length])
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + length:]
    tensors, tags = {}, {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        tag = entry["dtype"]
        begin, end = entry["data_offsets"]
        storage = np.uint16 if tag == "BF16" else _DTYPES.get(tag)
        if storage is None:
            raise ValueError("%s: tensor %r has dtype %s, not supported here" % (path, name, tag))
        tensors[name] = np.frombuffer(data[begin:end], dtype=np.dtype(storage).newbyteorder("<")).reshape(entry["shape"]).copy()
        tags[name] = tag
    return tensors, tags
