"""Lays out one site's share of Fashion-MNIST as torchvision reads it: DATA_DIR/FashionMNIST/raw/*-ubyte.

Reads the IDX files Debian ships (apt-get install dataset-fashion-mnist: /usr/share/datasets/fashion-mnist) and
writes site K of N its own slice of the training set plus the test set, so each node trains on its own data and
nothing is downloaded at run time.

    python3 prepare_data.py --out data/site1 --site 1 --sites 2 [--train-per-site 3000] [--test 2000]
"""

import argparse
import gzip
import os
import struct
import sys

SOURCE = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    item = 1
    for d in shape[1:]:
        item *= d
    return magic, shape, data[4 + 4 * dims:], item


def write_idx(path, magic, shape, body, item, start, stop):
    stop = min(stop, shape[0])
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * len(shape), stop - start, *shape[1:])
    with open(path + ".tmp", "wb") as f:
        f.write(header + body[start * item:stop * item])
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the site's DATA_DIR")
    parser.add_argument("--site", type=int, required=True, help="this site's number, 1..sites")
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--train-per-site", type=int, default=3000)
    parser.add_argument("--test", type=int, default=2000, help="test samples (the same for every site)")
    parser.add_argument("--source", default=SOURCE, help="folder of Fashion-MNIST's .gz IDX files")
    args = parser.parse_args()
    if not 1 <= args.site <= args.sites:
        sys.exit("error: --site must be between 1 and --sites")
    if not os.path.isfile(os.path.join(args.source, FILES["train"][0] + ".gz")):
        sys.exit("error: Fashion-MNIST not found in %s: apt-get install dataset-fashion-mnist, or pass --source" % args.source)
    raw = os.path.join(args.out, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    first = (args.site - 1) * args.train_per_site
    for split, (start, stop) in (("train", (first, first + args.train_per_site)), ("test", (0, args.test))):
        for name in FILES[split]:
            magic, shape, body, item = read_idx(os.path.join(args.source, name + ".gz"))
            write_idx(os.path.join(raw, name), magic, shape, body, item, start, stop)
    print("site %d of %d: training samples %d..%d and %d test samples in %s" % (args.site, args.sites, first, first + args.train_per_site - 1, args.test, raw))


if __name__ == "__main__":
    main()
