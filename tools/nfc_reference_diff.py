#!/usr/bin/env python3
"""Code points whose NFC behaviour differs between utf8proc and the reference.

The reference tokenizer (Hugging Face `tokenizers`) normalises with Unicode
tables older than utf8proc's: characters assigned later are, for it,
unassigned code points, i.e. starters (combining class 0) with no
decomposition that never compose. utf8proc gives some of them a non-zero
combining class (so it reorders them), a decomposition, or a composition.
hart.c treats the code points listed here as the reference does: opaque
starters that NFC leaves in place and that block reordering and composition
across them (tokenizer/nfc_opaque.c, table in tokenizer/nfc_opaque_table.c).

How the list is derived (nothing here uses hart.c; utf8proc is called through
ctypes, the reference is tokenizers.normalizers.NFC):
  1. For every code point cp (surrogates excluded), compare reference and
     utf8proc NFC on the probes
        cp;  "a" U+0345 cp;  "a" cp U+0334;  "a" cp U+0301;  U+0334 cp;
        the utf8proc canonical decomposition of cp
     (U+0334 has combining class 1, U+0345 class 240: any non-zero class of cp
     is reordered against one of them; "a" cp U+0301 checks composition
     across cp). A code point whose own probes differ is listed.
  2. A decomposed composite whose probe differs although the composite itself
     does not (e.g. U+11935 U+11930 -> U+11938 in utf8proc only): each
     component is listed if the reference composes none of the utf8proc
     composition pairs the component takes part in (so it is unknown to the
     reference, not merely the partner of an unknown character).
  3. Check: NFC modelled as "utf8proc NFC of the runs between listed code
     points, listed code points copied" must equal the reference on every
     probe of every code point, on pairs of listed code points, and on
     mixed strings; any mismatch is reported and the exit status is 1.

Usage: python3 tools/nfc_reference_diff.py [--c tokenizer/nfc_opaque_table.c]
Prints the table (one code point a line, with utf8proc's combining class and
what differs); with --c, writes the C source instead.
Needs: pip install tokenizers (recorded with 0.23.3); libutf8proc.so.2.
"""
import ctypes
import sys

from tokenizers import normalizers
import tokenizers

_ref = normalizers.NFC()
_u8p = ctypes.CDLL("libutf8proc.so.2")
_u8p.utf8proc_map.argtypes = [ctypes.c_char_p, ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
_u8p.utf8proc_map.restype = ctypes.c_ssize_t
_u8p.utf8proc_get_property.argtypes = [ctypes.c_int32]
_u8p.utf8proc_get_property.restype = ctypes.POINTER(ctypes.c_int16)
_u8p.utf8proc_unicode_version.restype = ctypes.c_char_p
_u8p.utf8proc_version.restype = ctypes.c_char_p
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]

STABLE, COMPOSE, DECOMPOSE = 1 << 1, 1 << 3, 1 << 4


def u8p_map(s, opts):
    b = s.encode("utf-8", "surrogatepass")
    out = ctypes.c_void_p()
    n = _u8p.utf8proc_map(b, len(b), ctypes.byref(out), opts)
    if n < 0:
        raise ValueError("utf8proc_map failed on %r" % s)
    r = ctypes.string_at(out, n).decode("utf-8")
    _libc.free(out)
    return r


def u8p_nfc(s):
    return u8p_map(s, STABLE | COMPOSE)


def u8p_nfd(s):
    return u8p_map(s, STABLE | DECOMPOSE)


def u8p_ccc(cp):
    # utf8proc_property_t starts with {int16 category; int16 combining_class; ...}
    return _u8p.utf8proc_get_property(cp)[1]


def ref_nfc(s):
    return _ref.normalize_str(s)


def model_nfc(s, opaque):
    """NFC as hart.c does it: runs between opaque code points normalised
    separately, opaque code points copied."""
    out, run = [], []
    for ch in s:
        if ord(ch) in opaque:
            out.append(u8p_nfc("".join(run)) if run else "")
            out.append(ch)
            run = []
        else:
            run.append(ch)
    if run:
        out.append(u8p_nfc("".join(run)))
    return "".join(out)


def probes(cp):
    c = chr(cp)
    p = [c, "a\u0345" + c, "a" + c + "\u0334", "a" + c + "\u0301", "\u0334" + c]
    d = u8p_nfd(c)
    if d != c:
        p.append(d)
    return p


def all_code_points():
    return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def derive():
    cps = all_code_points()
    opaque, why = set(), {}
    differing_composites = []
    for cp in cps:
        bad = [i for i, s in enumerate(probes(cp)) if ref_nfc(s) != u8p_nfc(s)]
        if not bad:
            continue
        if bad == [5] and ref_nfc(chr(cp)) == chr(cp) == u8p_nfc(chr(cp)):
            differing_composites.append(cp)  # only its decomposed form differs
            continue
        opaque.add(cp)
        why[cp] = "ccc=%d probes %s" % (u8p_ccc(cp), ",".join(map(str, bad)))
    # utf8proc primary composition pairs: C = L + R with R the last char of NFD(C)
    pairs = []
    for cp in cps:
        d = u8p_nfd(chr(cp))
        if len(d) >= 2 and u8p_nfc(d) == chr(cp):
            pairs.append((u8p_nfc(d[:-1]), d[-1], cp))
    for cp in differing_composites:
        for comp in set(u8p_nfd(chr(cp))):
            involved = [(l, r) for l, r, _ in pairs if comp in (l, r) or comp in u8p_nfd(l)]
            if all(ref_nfc(l + r) != u8p_nfc(l + r) for l, r in involved):
                if ord(comp) not in opaque:
                    opaque.add(ord(comp))
                    why[ord(comp)] = "ccc=%d component of U+%04X" % (u8p_ccc(ord(comp)), cp)
    return sorted(opaque), why


def verify(opaque):
    op = set(opaque)
    bad = 0
    tests = []
    for cp in all_code_points():
        tests.extend(probes(cp))
    for a in opaque:
        for b in opaque[::7] + [0x301, 0x334, 0x5B0, 0x93C]:
            tests += [chr(a) + chr(b), "e" + chr(b) + chr(a) + "\u0301", "\u1100" + chr(a) + "\u1161"]
    for s in tests:
        if ref_nfc(s) != model_nfc(s, op):
            if bad < 10:
                print("mismatch: %s ref %s model %s" % (
                    " ".join("%04X" % ord(c) for c in s), " ".join("%04X" % ord(c) for c in ref_nfc(s)),
                    " ".join("%04X" % ord(c) for c in model_nfc(s, op))), file=sys.stderr)
            bad += 1
    print("verified %d strings, %d mismatches" % (len(tests), bad), file=sys.stderr)
    return bad == 0


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def c_source(opaque):
    rs = ranges(opaque)
    lines = [
        "/* GENERATED by tools/nfc_reference_diff.py -- do not edit.",
        " * Code points that the reference tokenizer's NFC (Hugging Face tokenizers %s," % tokenizers.__version__,
        " * older Unicode tables) leaves as unassigned starters while utf8proc %s"
        % _u8p.utf8proc_version().decode(),
        " * (Unicode %s) reorders, decomposes or composes them: %d code points in %d"
        % (_u8p.utf8proc_unicode_version().decode(), len(opaque), len(rs)),
        " * ranges, sorted. See tokenizer/nfc_opaque.h and docs/text.md. */",
        '#include "tokenizer/nfc_opaque.h"',
        "",
        "const hart_nfc_range hart_nfc_opaque[] = {",
    ]
    for a, b in rs:
        lines.append("    {0x%05X, 0x%05X}," % (a, b))
    lines += ["};", "const int hart_nfc_opaque_n = (int)(sizeof hart_nfc_opaque / sizeof *hart_nfc_opaque);", ""]
    # UTF-8 lead bytes of the listed code points: text without them is never searched
    leads = sorted({chr(cp).encode("utf-8")[0] for cp in opaque})
    lines.append("/* UTF-8 lead bytes of the code points above: %s */" % ", ".join("0x%02X" % b for b in leads))
    lines.append("const unsigned char hart_nfc_opaque_lead[256] = {")
    lines.append("    " + ", ".join("[0x%02X] = 1" % b for b in leads) + ",")
    lines += ["};", ""]
    return "\n".join(lines)


def main():
    opaque, why = derive()
    ok = verify(opaque)
    if len(sys.argv) > 2 and sys.argv[1] == "--c":
        with open(sys.argv[2], "w") as f:
            f.write(c_source(opaque))
    else:
        for cp in opaque:
            print("U+%04X  %s" % (cp, why[cp]))
        print("%d code points, %d ranges" % (len(opaque), len(ranges(opaque))))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
