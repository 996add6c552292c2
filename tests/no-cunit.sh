#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by `make check` in place of the unit tests when configure found no
# CUnit: fail, saying what to install.
echo "CUnit was not found by configure: the unit tests (tests/unit_*) were not built." >&2
echo "Install it (apt-get install libcunit1-dev) and run configure again." >&2
exit 1
