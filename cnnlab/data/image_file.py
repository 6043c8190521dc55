"""One image file as a network's input pixels: the single decoder training and prediction share.

A folder dataset is decoded here once (``cnnlab.data.folder``), and ``cnnlab predict``
reads each file it is given here too, so a photo is seen the same way in both: turned
upright by its EXIF orientation, deep greyscale (16-bit, 32-bit, float) brought to 0..255
instead of clipped, transparent pixels on white, and cropped to the centre, never
stretched. For a run trained on a folder, predict also fits the image to size with the
same bicubic filter (:func:`decode_image`); for Fashion-MNIST runs it resizes as the
training loader does.
"""

from __future__ import annotations

import glob
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data.dataset import DataError


class ImageFileError(DataError, ValueError):
    """The file is not an image cnnlab can read; the message names it and says why."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _grey_to_8_bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greyscale as 8-bit "L", keeping the range (PIL's own
    convert("L") clips every value above 255, which makes a 16-bit photo a silhouette)."""
    if image.mode.startswith("I"):
        # 16-bit ("I;16") or 32-bit ("I") integers, as 16-bit PNGs and TIFFs open, and some
        # holding 8-bit or 12-bit (a sensor's) values. The file does not say which: the
        # range is read off the values, 8, 12 or 16 bits; past 16 bits they are clipped.
        # (The top byte alone made 8-bit values black and 12-bit ones nearly so.) It is a
        # guess per image: a true 16-bit photo this dark (brightest under 4096, 6% of
        # full scale) comes out 16 times brighter.
        array = np.clip(np.asarray(image, dtype=np.int64), 0, 0xFFFF)
        brightest = array.max(initial=0)
        array >>= 0 if brightest <= 0xFF else 4 if brightest <= 0xFFF else 8
    else:  # "F": floats on 0..1 (the usual convention) or, if any value is above 1, 0..255
        array = np.nan_to_num(np.asarray(image, dtype=np.float64))
        scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
        array = np.clip(np.rint(array * scale), 0, 255)
    return Image.fromarray(array.astype(np.uint8), "L")


def to_mode(image: Image.Image, channels: int, background: str = "white") -> Image.Image:
    """``image`` upright, as "L" (``channels`` 1) or "RGB" (3); transparent pixels on
    ``background``: a PIL colour name, or "contrast" (black behind a light picture,
    white behind a dark one, as data drawn light on black wants a cut-out garment)."""
    image = ImageOps.exif_transpose(image)  # phone photos store rotation in EXIF
    if image.mode.startswith("I") or image.mode == "F":
        image = _grey_to_8_bit(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        # Transparent pixels become the background, not whatever colour they stored.
        rgba = image.convert("RGBA")
        if background == "contrast":
            background = "black" if _opaque_is_light(rgba) else "white"
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, background), rgba)
    target = "L" if channels == 1 else "RGB"
    try:
        return image.convert(target)
    except ValueError:  # no direct conversion in PIL (a LAB TIFF to "L"): through RGB
        return image.convert("RGB").convert(target)


def _opaque_is_light(rgba: Image.Image) -> bool:
    """Whether the visible part of ``rgba`` is light on average (a dark icon is not: on
    black it would vanish, on white it shows, and --invert then makes it light on black)."""
    pixels = np.asarray(rgba, dtype=np.float32)
    alpha = pixels[..., 3] / 255
    shown = alpha.sum()
    return bool(shown) and float((pixels[..., :3].mean(axis=2) * alpha).sum() / shown) >= 128


# The image formats cnnlab decodes: those of a folder dataset's extensions, and a few
# more predict is given (icons, Targa, PCX, JPEG 2000, AVIF where this Pillow has it).
# PIL picks a decoder by the file's bytes, not its name: without this list a ".png"
# holding PostScript would be handed to Ghostscript, a program, by PIL's EPS plugin.
def formats_pillow_has(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``names`` this Pillow decodes (AVIF came with 11.2): a name it lacks
    would make ``Image.open(..., formats=...)`` raise KeyError."""
    Image.init()  # registers every plugin
    return tuple(name for name in names if name in Image.OPEN)


PIL_FORMATS = formats_pillow_has(("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "PPM", "ICO",
                                  "TGA", "PCX", "JPEG2000", "AVIF"))


def _warn_if_very_large(path: Path, image: Image.Image) -> None:
    pixels, limit = image.width * image.height, Image.MAX_IMAGE_PIXELS
    if limit and pixels > limit:
        from cnnlab.data.dataset import DataWarning
        from cnnlab.notices import warn_user

        warn_user(f"{path}: {pixels / 1e6:,.1f} megapixels, more than PIL decodes without a "
                  f"warning ({limit / 1e6:,.1f}); decoded, slowly and in much memory: scale "
                  "it down first", DataWarning)


def _not_a_file(path: Path) -> str:
    """Why a path that names no file may have been given, for a URL, "-" (standard
    input) or a pattern ("photos/*.jpg" quoted, or on Windows), which other tools
    take: cnnlab reads none ("image not found: https:/example.com/a.jpg" read as if
    the file had gone)."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:/", str(path)):  # Path keeps one "/" of "//"
        return "; cnnlab reads image files, not URLs: download it first (curl -O URL)"
    if str(path) == "-":
        return "; cnnlab reads image files, not standard input: save the image to a file"
    # "[" alone is no sign: "photo [1].jpg" names a file more often than a pattern does,
    # so it counts only where, read as a pattern, it matches files (a shell would have).
    bracket = "[" in str(path) and bool(glob.glob(str(path)))
    pattern = [i for i, part in enumerate(path.parts)
               if any(c in part for c in "*?") or bracket and "[" in part]
    if pattern:  # a quoted shell pattern, or one that matched nothing
        folder = Path(*path.parts[:pattern[0]])  # "." for a pattern at the start
        return ("; cnnlab does not expand patterns (a shell expands an unquoted one that "
                f"matches files): pass the files, or their folder ({folder}: every image "
                "file below it)")
    return ""


def read_image(path: str | Path, channels: int, background: str = "white",
               at_least: tuple[int, int] | None = None) -> Image.Image:
    """The image at ``path``, decoded, upright, as "L" (``channels`` 1) or "RGB" (3),
    transparent pixels on ``background``.

    ``at_least``: the (height, width) the image is to be resized to next. A much larger
    image is then decoded smaller or shrunk first (:func:`shrunk`), never to less than
    ``SHRINK_MARGIN`` times that size: a 100-megapixel JPEG classified at 28x28 took 860
    MiB more memory (now 7 MiB). None: at full size.

    Raises:
        FileNotFoundError: there is no such file.
        ImageFileError: the file is not a readable image (a folder, a damaged file, a
            format PIL does not know, or more pixels than PIL's safety limit).
    """
    path = Path(path)
    try:
        # PIL's own warning for a very large image is Python's, with its source line:
        # told here in cnnlab's words (and still decoded), once per file.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=PIL_FORMATS) as image:
                if at_least is not None:  # a JPEG decodes at 1/2, 1/4 or 1/8 of its size
                    side = SHRINK_MARGIN * max(at_least)
                    image.draft(image.mode, (side, side))  # other formats: no effect
                _warn_if_very_large(path, image)  # the size it is decoded at
                image.load()  # decode now, so a truncated file fails here
                if at_least is None:
                    return to_mode(image, channels, background)
                # Shrunk before to_mode's copies where averaging pixels is exact (not a
                # palette's indices); the rest once they are "L" or "RGB".
                return shrunk(to_mode(shrunk(image, at_least), channels, background),
                              at_least, upright=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {path}{_not_a_file(path)}") from None
    except (IsADirectoryError, PermissionError):  # Windows: a folder is EACCES
        if not path.is_dir():  # a file this user may not read, not a damaged image
            raise ImageFileError(path, "this user may not read it (permission denied): "
                                       "let it be read (chmod a+r, or ask its owner), or "
                                       "move it out") from None
        raise ImageFileError(path, f"a folder, not an image file; pass the image files "
                                   f"(e.g. {path}/*.png)") from None
    except Image.DecompressionBombError as exc:
        # Not an OSError: PIL refuses images this large (over ~179 megapixels) outright.
        raise ImageFileError(path, f"too large to decode safely ({exc}); scale it down "
                                   "first") from None
    except UnidentifiedImageError:
        if path.is_file() and path.stat().st_size == 0:  # a copy that never finished
            raise ImageFileError(path, "an empty file (0 bytes), not an image: copy it "
                                       "again, or delete it") from None
        raise ImageFileError(path, "not a readable image in a format cnnlab decodes ("
                                   f"{', '.join(PIL_FORMATS)}): damaged, or another format "
                                   "(convert it to PNG)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        # PIL reports undecodable files through all of these.
        if "truncated" in str(exc).lower():  # PIL: "image file is truncated", JPEG's own
            raise ImageFileError(path, f"cut short ({exc}): a copy or download that did not "
                                       "finish; copy it again, or delete it") from None
        raise ImageFileError(path, f"not a readable image ({type(exc).__name__}: {exc}): "
                                   "damaged; re-save it as PNG, or delete it") from None


# A large image is shrunk by a whole factor before it is resampled to the model's size,
# to no less than this many times that size. Pillow calls it a reducing gap: from 3 on,
# it finds the result indistinguishable from resampling the full image in most cases.
SHRINK_MARGIN = 4

# The modes whose pixels Image.reduce averages as colours (LA and RGBA weighted by their
# alpha), which to_mode then converts as it would have converted the full image.
_AVERAGED_MODES = ("L", "LA", "RGB", "RGBA")
_ORIENTATION = 0x0112  # the EXIF tag (ExifTags.Base.Orientation)


def shrunk(image: Image.Image, at_least: tuple[int, int], upright: bool = False
           ) -> Image.Image:
    """The centred part of ``image`` shaped as ``at_least`` (a height and width), as large
    as fits: what :func:`centre_square` or :func:`fit_image` keeps of it next; reduced
    (each box of pixels averaged) by the largest whole factor that keeps its shorter
    side at least ``SHRINK_MARGIN`` times the longer side of ``at_least``. ``image`` as
    it is where that factor is 1, or its pixels are no colours to average (a palette's
    indices, a colour that stands for transparent). ``upright``: ``image`` is turned
    already (to_mode's), so its EXIF is not asked: Pillow 9.4 (our floor) left the
    orientation of a PNG that holds it twice (EXIF and XMP) in the turned image, which
    then read as turned a quarter still, and its part was cut the wrong way round."""
    height, width = at_least
    if not upright and image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):  # a quarter
        height, width = width, height
    part_w, part_h = image.size
    if part_w * height > part_h * width:  # wider than the shape: its sides are cut off
        part_w = round(part_h * width / height)
    else:
        part_h = round(part_w * height / width)
    factor = min(part_w, part_h) // (SHRINK_MARGIN * max(at_least))
    if factor < 2 or image.mode not in _AVERAGED_MODES or "transparency" in image.info:
        return image
    # Whole boxes only, centred: the picture's centre moves by half a pixel at most (a
    # part box at one edge, or a crop rounded a reduced pixel off, moved it by up to
    # factor / 2 pixels, which changed a probability in its third digit).
    part_w, part_h = part_w // factor * factor, part_h // factor * factor
    left, top = (image.width - part_w) // 2, (image.height - part_h) // 2
    return image.reduce(factor, (left, top, left + part_w, top + part_h))


def centre_square(image: Image.Image) -> Image.Image:
    """The largest centred square of ``image``, cut out without resampling."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def chw_array(image: Image.Image) -> np.ndarray:
    """An "L" or "RGB" image as a writable uint8 (C, H, W) array (torch.from_numpy takes it)."""
    array = np.array(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def fit_image(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` as uint8 (C, H, W) with (H, W) = ``size``: scaled to cover it, then
    centre-cropped (bicubic)."""
    return chw_array(ImageOps.fit(image, (size[1], size[0]), Image.Resampling.BICUBIC))


def decode_image(path: str | Path, size: tuple[int, int], channels: int) -> np.ndarray:
    """The image at ``path`` as :func:`fit_image` gives it (a large one decoded smaller
    first, as :func:`read_image` says). Raises as :func:`read_image`."""
    return fit_image(read_image(path, channels, at_least=size), size)
