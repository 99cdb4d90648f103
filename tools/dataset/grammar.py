"""The caption grammar of the shapes dataset (standard library only).

Shared by the dataset generator (tools/dataset/shapes.py), the prompt-adherence
checker (tools/yardstick/check.py) and the prompt files in samples/. The grammar
is documented in docs/training.md ("Dataset and caption grammar").
"""
import re

SIZE = 64

# Named colours (sRGB 0..255): far apart so plain image analysis tells them apart.
COLOURS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 50, 180),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
COLOUR_NAMES = list(COLOURS)
SHAPES = ["circle", "square", "triangle", "cross"]
# (row, col) grid cell -> canonical name; 0 = top/left, 1 = middle, 2 = bottom/right
POSITIONS = {
    (0, 0): "top left", (0, 1): "top", (0, 2): "top right",
    (1, 0): "left", (1, 1): "center", (1, 2): "right",
    (2, 0): "bottom left", (2, 1): "bottom", (2, 2): "bottom right",
}
POSITION_NAMES = list(POSITIONS.values())
SIZES = {"small": 14.0, "medium": 22.0, "large": 30.0}  # nominal extent in pixels
SIZE_NAMES = list(SIZES)
CELL_CENTRES = (16.0, 32.0, 48.0)

# Paraphrases (the grammar's terminals). Index 0 is the canonical word.
SHAPE_WORDS = {"circle": ["circle", "disc", "round dot"], "square": ["square", "box", "block"],
               "triangle": ["triangle", "triangle", "pyramid shape"], "cross": ["cross", "plus sign", "plus"]}
SIZE_WORDS = {"small": ["small", "little", "tiny"], "medium": ["medium", "medium sized", ""],
              "large": ["large", "big", "huge"]}
POS_PHRASES = {
    "top left": ["in the top left", "at the top left", "in the upper left corner"],
    "top": ["at the top", "in the top middle", "at the top center"],
    "top right": ["in the top right", "at the top right", "in the upper right corner"],
    "left": ["on the left", "at the left", "in the middle left"],
    "center": ["in the center", "in the middle", "at the center"],
    "right": ["on the right", "at the right", "in the middle right"],
    "bottom left": ["in the bottom left", "at the bottom left", "in the lower left corner"],
    "bottom": ["at the bottom", "in the bottom middle", "at the bottom center"],
    "bottom right": ["in the bottom right", "at the bottom right", "in the lower right corner"],
}
TEMPLATES = [
    "a {size}{colour} {shape} {pos} on a {bg}",
    "a {bg} with a {size}{colour} {shape} {pos}",
    "{size}{colour} {shape} {pos}, {bg}",
    "a picture of a {size}{colour} {shape} {pos} on a {bg}",
]


def bg_phrase(bg):
    if bg["kind"] == "solid":
        return f"{bg['colour']} background"
    return f"{bg['top']} to {bg['bottom']} gradient background"


def _longest_first(d):
    """(phrase, canonical) pairs, longest phrase first (so 'top left' wins over 'left')."""
    pairs = [(w, k) for k, ws in d.items() for w in ws if w]
    return sorted(pairs, key=lambda p: -len(p[0]))


def parse(caption):
    """Attributes of a one-shape caption of the grammar: dict(shape, colour, position,
    size, bg) with bg = {"kind": "solid", "colour"} or {"kind": "gradient", "top",
    "bottom"}; raises ValueError if the caption is not of the grammar."""
    t = " " + re.sub(r"[^a-z ]+", " ", caption.lower()) + " "
    t = re.sub(r" +", " ", t)
    cn = "|".join(COLOUR_NAMES)
    m = re.search(rf" ({cn}) to ({cn}) gradient background ", t)
    if m:
        bg = dict(kind="gradient", top=m.group(1), bottom=m.group(2))
    else:
        m = re.search(rf" ({cn}) background ", t)
        if not m:
            raise ValueError(f"no background phrase in {caption!r}")
        bg = dict(kind="solid", colour=m.group(1))
    rest = t[:m.start()] + " " + t[m.end():]
    colours = re.findall(rf" (?=({cn}) )", rest)
    if len(colours) != 1:
        raise ValueError(f"expected one object colour in {caption!r}")
    out = dict(colour=colours[0], bg=bg)
    for key, table in (("shape", SHAPE_WORDS), ("position", POS_PHRASES), ("size", SIZE_WORDS)):
        for phrase, canon in _longest_first(table):
            if f" {phrase} " in rest:
                out[key] = canon
                rest = rest.replace(f" {phrase} ", " ", 1)
                break
        else:
            if key == "size":
                out[key] = "medium"  # the grammar may leave out "medium"
            else:
                raise ValueError(f"no {key} in {caption!r}")
    return out
