"""Writes src/eval/benchmark/imagenet-classes.json: ImageNet-1k's 1,000 WordNet ids in class-index order (torchvision's
ImageFolder sorts the val folders by wnid, which gives that order) paired with OpenAI's class names, the ones CLIP and
the COSMOS reference prompt with (open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES).

The wnids come from timm's imagenet_synsets.txt, the names from open_clip_torch; both from the published wheels
(scripts/fixtures/common.py unpack_wheels).  Run: /usr/bin/python3 scripts/build-imagenet-classes.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from common import ROOT, unpack_wheels  # noqa: E402

site = unpack_wheels(["timm-", "open_clip_torch-"])
with open(os.path.join(site, "timm", "data", "_info", "imagenet_synsets.txt")) as f:
    wnids = [line.strip() for line in f if line.strip()]
namespace = {}
with open(os.path.join(site, "open_clip", "zero_shot_metadata.py")) as f:
    exec(f.read(), namespace)
names = list(namespace["IMAGENET_CLASSNAMES"])
assert len(wnids) == len(names) == 1000, (len(wnids), len(names))
assert wnids == sorted(wnids), "the synsets are not in ImageFolder's (sorted) order"
# OpenAI's list names two classes twice ("missile", "sunglasses"): classes are told apart by index.
assert len(set(names)) == 998
out = os.path.join(ROOT, "src", "eval", "benchmark", "imagenet-classes.json")
with open(out, "w") as f:
    f.write("[\n" + ",\n".join(json.dumps([w, n], ensure_ascii=False) for w, n in zip(wnids, names)) + "\n]\n")
print(f"wrote {out}: {len(wnids)} classes, {wnids[0]} = {names[0]!r} ... {wnids[-1]} = {names[-1]!r}")
