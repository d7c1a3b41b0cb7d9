/* json.c — the few JSON writing helpers the library needs (strings escaped per RFC 8259). */
#include "core/core.h"

void mcr_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void mcr_json_num(FILE *f, double v) {
    if (!isfinite(v)) fputs("null", f);
    else if (v == floor(v) && fabs(v) < 1e15) fprintf(f, "%.0f", v);
    else fprintf(f, "%.6g", v);
}

void mcr_json_string(FILE *f, const char *s) { mcr_json_str(f, s); }

void mcr_json_number(FILE *f, double v) { mcr_json_num(f, v); }
