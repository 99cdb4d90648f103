/* Lookup in the table of code points kept out of NFC (tokenizer/nfc_opaque.h). */
#include "tokenizer/nfc_opaque.h"

int hart_nfc_is_opaque(int32_t cp) {
    int lo = 0, hi = hart_nfc_opaque_n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < hart_nfc_opaque[mid].lo) hi = mid - 1;
        else if (cp > hart_nfc_opaque[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

size_t hart_nfc_find_opaque(const unsigned char *s, size_t n, size_t *cplen) {
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (!hart_nfc_opaque_lead[c]) continue; /* ASCII, continuation, or a lead byte of no listed code point */
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (len > n - i) return n; /* cannot happen on valid UTF-8 */
        int32_t cp = (int32_t)(c & (0x7fu >> len));
        for (size_t k = 1; k < len; k++) cp = (cp << 6) | (s[i + k] & 0x3f);
        if (hart_nfc_is_opaque(cp)) { *cplen = len; return i; }
        i += len - 1;
    }
    return n;
}
