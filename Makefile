# SPDX-License-Identifier: GPL-2.0
#
# Usual out-of-tree conventions:
#   make                    build every module against KDIR
#   make KDIR=/path/to/build  ... against another kernel build directory
#   make clean
#   make modules_install    (INSTALL_MOD_PATH honoured)
# ARCH, CROSS_COMPILE, O, W and C are passed through to kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(shell pwd)

all: modules

modules modules_install clean:
	$(MAKE) -C $(KDIR) M=$(PWD) $@

tools:
	$(MAKE) -C tools

.PHONY: all modules modules_install clean tools
