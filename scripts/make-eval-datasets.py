"""Small evaluation data sets in each layout `cosmos eval` and the Evaluate tab read, for the tests: a few dozen
images made with Pillow, written as the real data sets are laid out, and fixtures/eval-data/truth.json saying what
each holds (which captions belong to which image, each image's class, each label map's values), so that a test can
score a model's embeddings against the truth without going through our readers.

  coco/             annotations/captions_val2017.json, images/val2017/*.jpg (the COSMOS reference's layout)
  flickr30k-images/ flickr30k_test.json and the images its paths name ("flickr30k-images/x.jpg", from the parent)
  imagenet/         <wnid>/*.JPEG for four ImageNet-1k classes
  folders/          one folder per class (.png), classnames.json, templates.json (CLIP_benchmark's {c})
  segmentation/     images/*.jpg, labels/*.png (palette and grayscale PNGs of class indices, 255 on borders), classes.txt
  tar-formats/      GNU and PAX tars with long names, a directory and a symlink (the tar reader's test)
  shards/           webdataset tars written by Python's tarfile: jpg+txt, png+json (DreamLIP's fields), webp+json
                    (PixelProse's), a sample without an image, one with broken JSON, a member without extension;
                    cls-0000.tar with cls labels, classnames.json

Run: /usr/bin/python3 scripts/make-eval-datasets.py   (writes fixtures/eval-data/, replacing it)
"""
import io
import json
import os
import random
import shutil
import tarfile

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "eval-data")
rand = random.Random(13)
COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40), "purple": (140, 50, 170)}
SHAPES = ["square", "circle", "triangle"]


def picture(width, height, colour, shape, seed):
    """A shape of a colour on a noisy background: different pixels for every seed."""
    g = np.random.default_rng(seed)
    background = g.integers(0, 256, size=3)
    pixels = np.clip(background + g.normal(0, 30, size=(height, width, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels, "RGB")
    d = ImageDraw.Draw(img)
    x0, y0 = int(g.integers(0, width // 3)), int(g.integers(0, height // 3))
    x1, y1 = x0 + width // 2, y0 + height // 2
    if shape == "square":
        d.rectangle([x0, y0, x1, y1], fill=COLOURS[colour])
    elif shape == "circle":
        d.ellipse([x0, y0, x1, y1], fill=COLOURS[colour])
    else:
        d.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=COLOURS[colour])
    return img


def captions_of(colour, shape, n):
    forms = [f"a {colour} {shape}", f"a photo of a {colour} {shape}", f"the {shape} is {colour}", f"one {colour} {shape} on noise",
             f"a {shape}, coloured {colour}", f"{colour} {shape} in a picture"]
    return rand.sample(forms, n)


def save(img, path, fmt, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, fmt, **kw)


def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def coco():
    images, annotations = [], []
    for i in range(12):
        colour, shape = rand.choice(list(COLOURS)), rand.choice(SHAPES)
        image_id = 1000 + 7 * i
        name = f"{image_id:012d}.jpg"
        save(picture(rand.randint(30, 48), rand.randint(26, 44), colour, shape, i), os.path.join(OUT, "coco", "images", "val2017", name), "JPEG", quality=92)
        images.append({"id": image_id, "file_name": name, "width": 0, "height": 0})
        n = 6 if i == 3 else 4 if i == 7 else 5
        for caption in captions_of(colour, shape, n):
            annotations.append({"image_id": image_id, "id": len(annotations), "caption": caption})
    # An image listed without any caption (not part of retrieval), and a caption of an image the file does not list.
    images.append({"id": 5, "file_name": "000000000005.jpg", "width": 0, "height": 0})
    annotations.append({"image_id": 999999, "id": len(annotations), "caption": "a caption of nothing"})
    rand.shuffle(annotations)
    os.makedirs(os.path.join(OUT, "coco", "annotations"), exist_ok=True)
    with open(os.path.join(OUT, "coco", "annotations", "captions_val2017.json"), "w") as f:
        json.dump({"info": {}, "images": images, "annotations": annotations}, f)
    # The reference's order: images by first caption, captions in the file's order.
    order, by_image = [], {}
    for a in annotations:
        if a["image_id"] == 999999:
            continue
        if a["image_id"] not in by_image:
            order.append(a["image_id"])
            by_image[a["image_id"]] = []
        by_image[a["image_id"]].append(a["caption"])
    names = {im["id"]: im["file_name"] for im in images}
    return [{"image": f"images/val2017/{names[i]}", "captions": by_image[i]} for i in order]


def flickr():
    entries, truth = [], []
    folder = os.path.join(OUT, "flickr30k-images")
    for i in range(10):
        colour, shape = rand.choice(list(COLOURS)), rand.choice(SHAPES)
        name = f"{4000 + i * 13}.jpg"
        save(picture(rand.randint(30, 48), rand.randint(26, 44), colour, shape, 100 + i), os.path.join(folder, name), "JPEG", quality=90)
        caps = captions_of(colour, shape, 5)
        entries.append({"image": f"flickr30k-images/{name}", "caption": caps})
        truth.append({"image": name, "captions": caps})
    entries.insert(4, {"image": "flickr30k-images/missing.jpg", "caption": ["an image that is not there"]})
    with open(os.path.join(folder, "flickr30k_test.json"), "w") as f:
        json.dump(entries, f)
    return truth


def imagenet():
    chosen = [("n01440764", "red", "circle"), ("n01443537", "yellow", "circle"), ("n03785016", "blue", "square"), ("n04254680", "green", "triangle")]
    truth = []
    for k, (wnid, colour, shape) in enumerate(chosen):
        for j in range(3):
            name = f"ILSVRC2012_val_{k * 3 + j:08d}_{wnid}.JPEG"
            save(picture(rand.randint(32, 48), rand.randint(32, 48), colour, shape, 200 + k * 3 + j), os.path.join(OUT, "imagenet", wnid, name), "JPEG", quality=90)
            truth.append({"image": f"{wnid}/{name}", "wnid": wnid})
    return truth


def folders():
    classes = [("blue_square", "blue", "square"), ("green_triangle", "green", "triangle"), ("red_circle", "red", "circle")]
    truth = []
    for label, (folder, colour, shape) in enumerate(classes):
        for j in range(4):
            name = f"{j}.png"
            save(picture(rand.randint(30, 44), rand.randint(30, 44), colour, shape, 300 + label * 4 + j), os.path.join(OUT, "folders", folder, name), "PNG")
            truth.append({"image": f"{folder}/{name}", "label": label})
    with open(os.path.join(OUT, "folders", "classnames.json"), "w") as f:
        json.dump(["blue square", "green triangle", "red circle"], f)
    with open(os.path.join(OUT, "folders", "templates.json"), "w") as f:
        json.dump(["a photo of a {c}.", "a drawing of a {c}.", "a {c} shape."], f)
    return {"class_names_from_folders": ["blue square", "green triangle", "red circle"], "images": truth}


def segmentation():
    classes = ["background", "red shape, crimson shape", "green shape", "blue shape, navy shape"]
    colours = [None, "red", "green", "blue"]
    truth = []
    folder = os.path.join(OUT, "segmentation")
    for i in range(6):
        w, h = rand.randint(40, 56), rand.randint(34, 48)
        g = np.random.default_rng(400 + i)
        pixels = np.clip(g.integers(60, 200, size=3) + g.normal(0, 20, size=(h, w, 3)), 0, 255).astype(np.uint8)
        labels = np.zeros((h, w), np.uint8)
        img = Image.fromarray(pixels, "RGB")
        d = ImageDraw.Draw(img)
        for c in rand.sample([1, 2, 3], 2):
            x0, y0 = rand.randint(0, w // 2), rand.randint(0, h // 2)
            x1, y1 = x0 + rand.randint(8, w // 2), y0 + rand.randint(8, h // 2)
            d.rectangle([x0, y0, x1, y1], fill=COLOURS[colours[c]])
            labels[y0:y1 + 1, x0:x1 + 1] = c
            # A one-pixel border of "ignore", as VOC draws around objects.
            labels[max(y0 - 1, 0), x0:x1 + 1] = 255
            labels[min(y1 + 1, h - 1), x0:x1 + 1] = 255
        save(img, os.path.join(folder, "images", f"img{i}.jpg"), "JPEG", quality=92)
        label_img = Image.fromarray(labels, "L")
        if i % 2 == 0:  # VOC-style palette PNGs: the value is the palette index, not the colour shown
            label_img = label_img.convert("P")
            palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 0, 0, 128] + [0, 0, 0] * 251 + [224, 224, 192]
            label_img.putpalette(palette)
        save(label_img, os.path.join(folder, "labels", f"img{i}.png"), "PNG")
        decoded = np.array(Image.open(os.path.join(folder, "labels", f"img{i}.png")))
        assert (decoded == labels).all()
        truth.append({"image": f"images/img{i}.jpg", "label": f"labels/img{i}.png", "width": w, "height": h, "labels": labels.flatten().tolist()})
    # A label map without its image.
    save(Image.fromarray(np.zeros((8, 8), np.uint8), "L"), os.path.join(folder, "labels", "orphan.png"), "PNG")
    with open(os.path.join(folder, "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    return {"classes": [c.split(", ") for c in classes], "items": truth}


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def shards():
    folder = os.path.join(OUT, "shards")
    os.makedirs(folder, exist_ok=True)
    truth, n = [], 0
    for s in range(2):
        with tarfile.open(os.path.join(folder, f"shard-{s:04d}.tar"), "w", format=tarfile.USTAR_FORMAT) as tar:
            for j in range(6):
                colour, shape = rand.choice(list(COLOURS)), rand.choice(SHAPES)
                key = f"{s:04d}{j:04d}"
                img = picture(rand.randint(30, 44), rand.randint(30, 44), colour, shape, 500 + n)
                n += 1
                kind = j % 3
                if kind == 0:
                    caption = f"a {colour} {shape}. it sits on noise"
                    add(tar, f"{key}.jpg", encoded(img, "JPEG", quality=90))
                    add(tar, f"{key}.txt", caption.encode())
                    truth.append({"key": f"shard-{s:04d}.tar:{key}", "captions": [caption], "text_crops": None})
                elif kind == 1:
                    meta = {"raw_caption": [f"{colour} {shape}"], "shortIB_captions": [f"a {shape}"], "longIB_captions": [f"A {colour} {shape}. On a noisy ground."],
                            "shortSV_captions": [], "longSV_captions": [], "shortLLA_captions": [f"{colour} thing"], "longLLA_captions": []}
                    add(tar, f"{key}.png", encoded(img, "PNG"))
                    add(tar, f"{key}.json", json.dumps(meta).encode())
                    crops = meta["raw_caption"] + meta["shortIB_captions"] + meta["shortSV_captions"] + meta["shortLLA_captions"] + meta["longIB_captions"] + meta["longSV_captions"] + meta["longLLA_captions"]
                    truth.append({"key": f"shard-{s:04d}.tar:{key}", "captions": meta["raw_caption"], "text_crops": crops})
                else:
                    meta = {"original_caption": f"{colour} {shape} picture", "caption": f"The image shows a {shape}.\nIt is {colour}. The ground is noisy"}
                    add(tar, f"{key}.webp", encoded(img, "WEBP", lossless=True))
                    add(tar, f"{key}.json", json.dumps(meta).encode())
                    crops = [meta["original_caption"], f"The image shows a {shape}", f"It is {colour}", "The ground is noisy"]
                    truth.append({"key": f"shard-{s:04d}.tar:{key}", "captions": [meta["original_caption"]], "text_crops": crops, "webp": True})
            if s == 0:
                add(tar, "orphan.txt", b"a caption without its image")
                add(tar, "broken.jpg", encoded(picture(32, 32, "red", "circle", 999), "JPEG"))
                add(tar, "broken.json", b"{not json")
                add(tar, "README", b"a member without an extension")
    with tarfile.open(os.path.join(folder, "cls-0000.tar"), "w", format=tarfile.USTAR_FORMAT) as tar:
        cls_truth = []
        for j in range(9):
            label = j % 3
            colour, shape = [("blue", "square"), ("green", "triangle"), ("red", "circle")][label]
            key = f"c{j:05d}"
            add(tar, f"{key}.jpg", encoded(picture(36, 36, colour, shape, 600 + j), "JPEG", quality=90))
            add(tar, f"{key}.cls", str(label).encode())
            cls_truth.append({"key": f"cls-0000.tar:{key}", "label": label})
    with open(os.path.join(folder, "classnames.json"), "w") as f:
        json.dump(["blue square", "green triangle", "red circle"], f)
    return {"samples": truth, "cls": cls_truth}


def tar_formats():
    """The same two members in GNU, PAX and ustar tars, with what else archives hold: long names (GNU's ././@LongLink,
    pax's path record), a directory, a symlink, a pax global header."""
    folder = os.path.join(OUT, "tar-formats")
    os.makedirs(folder, exist_ok=True)
    long_name = "deep/" + "x" * 120 + "/000001.txt"
    members = {"000000.txt": b"a short caption", long_name: "a caption with a long path, and non-ASCII: caf\u00e9 \u00fcber".encode()}
    for fmt, name in [(tarfile.GNU_FORMAT, "gnu.tar"), (tarfile.PAX_FORMAT, "pax.tar")]:
        with tarfile.open(os.path.join(folder, name), "w", format=fmt) as tar:
            d = tarfile.TarInfo("deep")
            d.type = tarfile.DIRTYPE
            tar.addfile(d)
            for member, data in members.items():
                add(tar, member, data)
            link = tarfile.TarInfo("link.txt")
            link.type = tarfile.SYMTYPE
            link.linkname = "000000.txt"
            tar.addfile(link)
    return {name.decode() if isinstance(name, bytes) else name: data.decode() for name, data in members.items()}


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    truth = {"generator": "scripts/make-eval-datasets.py", "coco": coco(), "flickr": flickr(), "imagenet": imagenet(), "folders": folders(),
             "segmentation": segmentation(), "shards": shards(), "tar_formats": tar_formats()}
    with open(os.path.join(OUT, "truth.json"), "w") as f:
        json.dump(truth, f)
    total = sum(len(files) for _, _, files in os.walk(OUT))
    size = sum(os.path.getsize(os.path.join(d, x)) for d, _, files in os.walk(OUT) for x in files)
    print(f"wrote {OUT}: {total} files, {size // 1024} KiB")
