"""Real photos for `iprbench loader224` (Pillow): the WatermarkNN trigger set's 100 JPEGs as they are
(mostly 720x480, ImageNet-sized) into OUT/photos/all/, and 30 of them upscaled 4x (bicubic, JPEG
quality 90; 2880x1920 and the like, the size of a camera's full-resolution shot) into OUT/large/all/.

    .venv/bin/python Tools/bench/make_photos.py OUT
"""
import os
import shutil
import sys

from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures", "trigger_set", "pics")
out = sys.argv[1]
names = sorted(os.listdir(root))
os.makedirs(os.path.join(out, "photos", "all"), exist_ok=True)
os.makedirs(os.path.join(out, "large", "all"), exist_ok=True)
for name in names:
    with open(os.path.join(root, name), "rb") as f:
        if f.read(3) != b"\xff\xd8\xff":  # two of the files are PNGs named .jpg: photos means JPEGs here
            continue
    shutil.copy(os.path.join(root, name), os.path.join(out, "photos", "all", name))
for name in names[:30]:
    img = Image.open(os.path.join(root, name)).convert("RGB")
    img.resize((img.width * 4, img.height * 4), Image.BICUBIC).save(os.path.join(out, "large", "all", name), "JPEG", quality=90)
