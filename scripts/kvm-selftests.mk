# SPDX-License-Identifier: GPL-2.0
#
# Builds the project's own KVM selftests, those of selftests/kvm/ that no
# series carries into the tree, with the KVM selftest library of the
# kernel tree. Read after that tree's own Makefile, from its directory, as
# scripts/build-selftests.sh does:
#
#   make -C tools/testing/selftests/kvm -f Makefile -f kvm-selftests.mk \
#	OUTPUT=<library objects> VMF_SRC=<selftests/kvm> \
#	VMF_TESTS=<test names> VMF_DEST=<binaries> vmf-kvm-tests
#
# so the library objects, CFLAGS, LDFLAGS and LDLIBS are that Makefile's own
# and nothing here copies them. Its CFLAGS have -MD -MP: every object also
# depends on the headers it read, and make rebuilds only what changed.
# VMF_CFLAGS is added when compiling the project's tests, not the library.

VMF_KVM_SRCS := $(patsubst %,$(VMF_SRC)/%.c,$(VMF_TESTS))
VMF_KVM_OBJS := $(patsubst $(VMF_SRC)/%.c,$(OUTPUT)/vmf-tests/%.o,$(VMF_KVM_SRCS))
VMF_KVM_PROGS := $(patsubst $(VMF_SRC)/%.c,$(VMF_DEST)/%,$(VMF_KVM_SRCS))

.PHONY: vmf-kvm-tests
vmf-kvm-tests: $(VMF_KVM_PROGS)

# -I$(<D) of the KVM CFLAGS is the test's own directory here.
$(VMF_KVM_OBJS): $(OUTPUT)/vmf-tests/%.o: $(VMF_SRC)/%.c $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(VMF_CFLAGS) $(CPPFLAGS) $(TARGET_ARCH) -c $< -o $@

$(VMF_KVM_PROGS): $(VMF_DEST)/%: $(OUTPUT)/vmf-tests/%.o $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

-include $(VMF_KVM_OBJS:.o=.d)
