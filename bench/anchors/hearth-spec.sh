#!/usr/bin/env bash
# hearth-spec.sh DIR ASSETS KERNEL INITRD - writes DIR/hearth.yaml for `hearth netboot serve` with
# lib.sh's hearth_spec (needs HEARTH_CLI), for drivers that start hearth as the "custom" server.
# lib.sh makes a WORKDIR; without one given, it is a temporary one, removed at exit.
if [ -z "${WORKDIR:-}" ]; then WORKDIR=$(mktemp -d /tmp/hearth-spec.XXXXXX) || exit 1; OWN_WORKDIR=$WORKDIR; fi
source "$(dirname "$(readlink -f "$0")")/lib.sh"
trap 'cleanup; [ -n "${OWN_WORKDIR:-}" ] && rm -rf "$OWN_WORKDIR"' EXIT
[ $# -eq 4 ] || die "usage: hearth-spec.sh DIR ASSETS KERNEL INITRD"
hearth_spec "$@"
