#!/usr/bin/env bash
# hearth-spec.sh DIR ASSETS KERNEL INITRD - writes DIR/hearth.yaml for `hearth netboot serve` with
# lib.sh's hearth_spec (needs HEARTH_CLI), for drivers that start hearth as the "custom" server.
source "$(dirname "$(readlink -f "$0")")/lib.sh"
[ $# -eq 4 ] || die "usage: hearth-spec.sh DIR ASSETS KERNEL INITRD"
hearth_spec "$@"
