# mcrage — one Makefile: libmcrage.{a,so}, the mcrage CLI, tests (ASan+UBSan), bench.
#   make            release build in build/rel
#   make test       build everything with -fsanitize=address,undefined and run the suite
#   make bench      benchmark the denoiser (JSON lines); make bench-image: the image UNet
#   make install    PREFIX=/usr/local: library, headers, pkg-config file, CLI, Python package
#   make pytest     the Python package's tests alone (Debian's python3, release library)
#   make MPI=1      the same, built with mpicc against Open MPI, in build/mpi-rel and
#                   build/mpi-asan (the default build is untouched and knows nothing of MPI)
#   make test-mpi   the MPI build and tests/cli/test_mpi.sh (mpirun -np 1 vs -np 2); make test
#                   builds and runs it too where mpicc is installed

CC       ?= cc
PREFIX   ?= /usr/local
PYDIR    ?= $(PREFIX)/lib/python3/dist-packages
VERSION  := 0.1.0
# Portable by default (x86-64 baseline): OpenBLAS and glibc pick their kernels at run time.
# ARCH=-march=native builds for this CPU only.
ARCH     ?=
OPT      ?= -O3
WARN     := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
# -fvisibility=hidden: only the MCR_API functions of mcrage.h leave libmcrage.so
BASE     := -std=c11 -D_GNU_SOURCE -fopenmp -fPIC -fvisibility=hidden -DMCR_BUILDING_LIBRARY -Iinclude -Isrc $(WARN)
# OpenBLAS built for OpenMP: BLAS and our loops share one libgomp thread pool (the pthread
# build spins its own threads against ours; measured 4k vs 50k rows/s at 2 threads).
MULTIARCH:= $(shell $(CC) -print-multiarch 2>/dev/null)
BLASDIR  ?= /usr/lib/$(MULTIARCH)/openblas-openmp
LIBS     := -L$(BLASDIR) -Wl,-rpath,$(BLASDIR) -lopenblas -ldnnl -lxgboost -lpng -lz -lm
SAN      := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# one folder per concern (see README's layout): core, nn, diffusion, tabular, image, eval; cli/ is the tool
LIB_DIRS := core nn diffusion tabular image eval dist
LIB_SRC  := $(sort $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c)))
# src/dist/dist_mpi.c, the only user of <mpi.h>, only in the MPI build (make MPI=1): mpicc
# for every file, MCR_WITH_MPI defined, objects in their own folders.
MPI      ?= 0
ifeq ($(MPI),1)
MPICC    ?= mpicc
override CC := $(MPICC)
BASE     += -DMCR_WITH_MPI
R := build/mpi-rel
A := build/mpi-asan
else
LIB_SRC  := $(filter-out src/dist/dist_mpi.c,$(LIB_SRC))
R := build/rel
A := build/asan
endif
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))
BENCH_SRC:= bench/bench.c

R_LIBOBJ := $(LIB_SRC:%.c=$(R)/%.o)
A_LIBOBJ := $(LIB_SRC:%.c=$(A)/%.o)
R_CLIOBJ := $(CLI_SRC:%.c=$(R)/%.o)
A_CLIOBJ := $(CLI_SRC:%.c=$(A)/%.o)
A_TESTS  := $(TEST_SRC:tests/%.c=$(A)/tests/%)

.PHONY: all test test-rel bench install clean demo fuzz pytest mpi test-mpi
all: $(R)/libmcrage.a $(R)/libmcrage.so $(R)/mcrage $(R)/examples/rebalance

$(R)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -g $(ARCH) $(BASE) $(CFLAGS) -MMD -MP -c $< -o $@
$(A)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(ARCH) $(BASE) $(SAN) $(CFLAGS) -MMD -MP -c $< -o $@

# AdamW's sqrtf as the instruction (no errno check), so that its loop vectorises; same results
$(R)/src/nn/train.o $(A)/src/nn/train.o: CFLAGS += -fno-math-errno

$(R)/libmcrage.a: $(R_LIBOBJ)
	ar rcs $@ $^
$(R)/libmcrage.so: $(R_LIBOBJ)
	$(CC) -shared -fopenmp -Wl,-soname,libmcrage.so.0 -o $@ $^ $(LIBS)
$(R)/mcrage: $(R_CLIOBJ) $(R)/libmcrage.a
	$(CC) -fopenmp -o $@ $(R_CLIOBJ) $(R)/libmcrage.a $(LIBS)
$(A)/libmcrage.a: $(A_LIBOBJ)
	ar rcs $@ $^
$(A)/mcrage: $(A_CLIOBJ) $(A)/libmcrage.a
	$(CC) -fopenmp $(SAN) -o $@ $(A_CLIOBJ) $(A)/libmcrage.a $(LIBS)
$(A)/tests/%: tests/%.c tests/testhelp.h $(A)/libmcrage.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(ARCH) $(BASE) -Itests $(SAN) $(CFLAGS) -o $@ $< $(A)/libmcrage.a $(LIBS)
$(R)/bench/bench: $(BENCH_SRC) $(R)/libmcrage.a $(R)/src/cli/common.o $(R)/src/cli/cmd_bench.o
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(ARCH) $(BASE) -Isrc/cli -o $@ $< $(R)/src/cli/common.o $(R)/src/cli/cmd_bench.o $(R)/libmcrage.a $(LIBS)

# the convolution benchmark (JSON lines): im2col + sgemm against sgemm and oneDNN; only this
# program links oneDNN (libdnnl-dev), the library does not
.PHONY: bench-conv
BENCH_CONV_OBJ := $(R)/src/nn/conv.o $(R)/src/nn/unet.o $(R)/src/nn/nn.o $(R)/src/nn/bf16.o $(R)/src/core/rng.o $(R)/src/core/err.o
$(R)/bench/bench_conv: bench/bench_conv.c $(BENCH_CONV_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(ARCH) $(BASE) -o $@ $< $(BENCH_CONV_OBJ) $(LIBS) -ldnnl
bench-conv: $(R)/bench/bench_conv
	$(R)/bench/bench_conv

# examples use only the public header
$(R)/examples/%: examples/%.c $(R)/libmcrage.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -std=c11 -Wall -Wextra -Iinclude -o $@ $< $(R)/libmcrage.a $(LIBS) -fopenmp

# libFuzzer targets: clang builds the library sources together with each target
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -std=c11 -D_GNU_SOURCE -fopenmp -Iinclude -Isrc
build/fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIBS)
fuzz: build/fuzz/fuzz_csv build/fuzz/fuzz_model build/fuzz/fuzz_npz $(R)/mcrage

# The test command of the README and of .ci/run. Where mpicc is installed (scripts/deps.sh
# --tests installs Open MPI) it builds the MPI variant too, so tests/cli/test_mpi.sh runs
# instead of skipping.
TEST_MPI := $(if $(shell command -v $(or $(MPICC),mpicc) 2>/dev/null),mpi)
test: $(A_TESTS) $(A)/mcrage $(R)/mcrage $(R)/libmcrage.so $(TEST_MPI)
	@MCRAGE=$(A)/mcrage TESTBIN=$(A)/tests sh tests/run.sh

# The MPI build's CLI and the parameter-comparison helper of tests/cli/test_mpi.sh, which
# tests/run.sh runs when build/mpi-rel/mcrage exists (and skips otherwise).
$(R)/tests/dist/paramdiff: tests/dist/paramdiff.c $(R)/libmcrage.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(ARCH) $(BASE) -o $@ $< $(R)/libmcrage.a $(LIBS)
mpi:
	$(MAKE) MPI=1 build/mpi-rel/mcrage build/mpi-rel/tests/dist/paramdiff
test-mpi: mpi
	MCRAGE_MPI=build/mpi-rel/mcrage sh tests/cli/test_mpi.sh

pytest: $(R)/mcrage $(R)/libmcrage.so
	sh tests/python/test_pytest.sh

bench: $(R)/bench/bench
	$(R)/bench/bench

# the image model's UNet (mcrage bench --image); its PyTorch peer: bench/bench_torch_image.py
.PHONY: bench-image
bench-image: $(R)/bench/bench
	$(R)/bench/bench --image

demo: $(R)/mcrage
	sh scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/mcrage $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(R)/libmcrage.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(R)/libmcrage.so $(DESTDIR)$(PREFIX)/lib/libmcrage.so.$(VERSION)
	ln -sf libmcrage.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmcrage.so.0
	ln -sf libmcrage.so.0 $(DESTDIR)$(PREFIX)/lib/libmcrage.so
	install -m 644 include/mcrage/mcrage.h $(DESTDIR)$(PREFIX)/include/mcrage/
	install -m 755 $(R)/mcrage $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@BLASDIR@|$(BLASDIR)|g' mcrage.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mcrage.pc
	# the Python package, with the library beside it (found there first)
	install -d $(DESTDIR)$(PYDIR)/mcrage
	install -m 644 python/mcrage/*.py $(DESTDIR)$(PYDIR)/mcrage/
	install -m 755 $(R)/libmcrage.so $(DESTDIR)$(PYDIR)/mcrage/libmcrage.so

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
