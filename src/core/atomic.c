/* atomic.c — every output goes to a temporary file in the target's directory, is fsync'd
 * and renamed into place, so an interrupted or failed run never leaves a half-written file. */
#include "core/core.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int mcr_afile_open(mcr_afile *a, const char *path) {
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = mcr_strdup(path);
    a->tmp = malloc(n + 32);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return MCR_NOMEM();
    }
    /* temp name: dir/.base.tmp.XXXXXX */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    memcpy(a->tmp, path, dirlen);
    snprintf(a->tmp + dirlen, n + 32 - dirlen, ".%s.tmp.XXXXXX", path + dirlen);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return mcr_err(MCR_EIO, "%s: cannot create output file: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        close(fd);
        unlink(a->tmp);
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return MCR_NOMEM();
    }
    return MCR_OK;
}

void mcr_afile_abort(mcr_afile *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
}

int mcr_afile_commit(mcr_afile *a) {
    int e = 0;
    if (fflush(a->f) != 0 || ferror(a->f)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(a->f)) != 0) e = errno;
    if (fclose(a->f) != 0 && !e) e = errno ? errno : EIO;
    a->f = NULL;
    if (!e && rename(a->tmp, a->path) != 0) e = errno;
    if (e) {
        int rc = mcr_err(MCR_EIO, "%s: cannot write output file: %s", a->path, strerror(e));
        mcr_afile_abort(a);
        return rc;
    }
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
    return MCR_OK;
}

int mcr_write_file_atomic(const char *path, const void *data, size_t n) {
    mcr_afile a;
    int rc = mcr_afile_open(&a, path);
    if (rc) return rc;
    if (fwrite(data, 1, n, a.f) != n) {
        mcr_afile_abort(&a);
        return mcr_err(MCR_EIO, "%s: write error", path);
    }
    return mcr_afile_commit(&a);
}
