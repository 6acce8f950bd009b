#!/usr/bin/env python3
"""Checks that core/'s layers only point down: every #include "core/..." in
core/ names a file of the same folder or of a layer below it. Prints each
wrong-way include as file:line and exits 1 when there is one; the build runs
it before compiling core/ (CMakeLists.txt), so such an include fails the build."""
import pathlib
import re
import sys

# Top to bottom. A file may include its own layer's files and any layer below.
LAYERS = [
    ("root", ["core/broker", "core/main"]),
    ("api", ["core/api/"]),
    ("net", ["core/net/"]),
    ("txn", ["core/txn/"]),
    ("group", ["core/group/"]),
    ("meta", ["core/meta/"]),
    ("log", ["core/log/"]),
    ("shard", ["core/shard/"]),
    ("base", ["core/config", "core/slog"]),
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"(core/[^"]+)"')


def layer_of(path):
    for rank, (name, prefixes) in enumerate(LAYERS):
        if any(path.startswith(p) for p in prefixes):
            return rank, name
    return None, None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    wrong = 0
    for src in sorted((root / "core").rglob("*.[ch]")):
        rel = src.relative_to(root).as_posix()
        rank, name = layer_of(rel)
        if rank is None:
            print(f"{rel}: in no layer (scripts/layers.py names the folders)")
            wrong += 1
            continue
        for lineno, line in enumerate(src.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            to_rank, to_name = layer_of(m.group(1))
            if to_rank is None or to_rank < rank:
                print(f"{rel}:{lineno}: {name} includes {m.group(1)} ({to_name or 'no layer'}), "
                      f"a layer above it")
                wrong += 1
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
