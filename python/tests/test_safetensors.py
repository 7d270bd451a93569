import os
import struct
import json
import tempfile
import unittest

import numpy as np

import _path  # noqa: F401
from swarmlearning.safetensors import load_file, save_file


class SafetensorsTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.path = os.path.join(self.folder, "m.safetensors")

    def test_round_trip_keeps_names_order_dtypes_and_values(self):
        tensors = {"z.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "a.bias": np.array([1.5], dtype=np.float64),
                   "steps": np.array(7, dtype=np.int64), "mask": np.array([True, False])}
        save_file(tensors, self.path)
        loaded, tags = load_file(self.path)
        self.assertEqual(list(loaded), list(tensors))  # the state dict's order, which the swarm's signature compares
        for name, array in tensors.items():
            np.testing.assert_array_equal(loaded[name], array)
            self.assertEqual(loaded[name].dtype, array.dtype)
        self.assertEqual(tags, {"z.weight": "F32", "a.bias": "F64", "steps": "I64", "mask": "BOOL"})

    def test_header_is_padded_and_offsets_tile_the_data(self):
        save_file({"w": np.zeros(3, dtype=np.float32), "b": np.zeros(1, dtype=np.float16)}, self.path)
        with open(self.path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        self.assertEqual(length % 8, 0)
        self.assertEqual(header["w"]["data_offsets"], [0, 12])
        self.assertEqual(header["b"]["data_offsets"], [12, 14])

    def test_bf16_travels_as_its_bits(self):
        bits = np.array([0x3F80, 0xC000], dtype=np.uint16)  # 1.0 and -2.0 in bfloat16
        save_file({"w": bits}, self.path, {"w": "BF16"})
        loaded, tags = load_file(self.path)
        self.assertEqual(tags["w"], "BF16")
        np.testing.assert_array_equal(loaded["w"], bits)

    def test_a_truncated_file_is_refused_with_the_reason(self):
        save_file({"w": np.zeros(4, dtype=np.float32)}, self.path)
        with open(self.path, "r+b") as f:
            f.truncate(12)
        with self.assertRaisesRegex(ValueError, "header runs past the end"):
            load_file(self.path)

    def test_no_temporary_file_is_left_behind(self):
        save_file({"w": np.zeros(4, dtype=np.float32)}, self.path)
        self.assertEqual(os.listdir(self.folder), ["m.safetensors"])


if __name__ == "__main__":
    unittest.main()
