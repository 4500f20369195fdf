#!/usr/bin/env bash
# startup.sh — where a short gitseal command's time goes, against git, in one
# interleaved run on a scratch repository: an empty Go program (the floor of
# any Go command), `gitseal version` (process start with every library
# gitseal links), `gitseal ls` (start + opening the store), `gitseal get`
# (+ unwrapping the data key, decrypting, and committing the audit event)
# and `git show HEAD:path`. Prints one table; see README.md.
#
# Environment: BENCH_DIR (default /tmp/gitseal-bench), N (default 41),
# CGO_ENABLED for the gitseal build (default 0, as compare.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DIR=${BENCH_DIR:-/tmp/gitseal-bench}
N=${N:-41}
mkdir -p "$DIR/bin" "$DIR/startup"
DIR=$(cd "$DIR" && pwd)
work=$DIR/startup

(cd "$root" && go build -o "$DIR/bin/timeit" ./bench/timeit)
(cd "$root" && CGO_ENABLED=${CGO_ENABLED-0} go build -o "$work/gitseal" ./cmd/gitseal)
mkdir -p "$work/empty"
printf 'package main\n\nfunc main() {}\n' >"$work/empty/main.go"
printf 'module empty\n\ngo 1.26\n' >"$work/empty/go.mod"
(cd "$work/empty" && CGO_ENABLED=0 go build -o "$work/empty-go" .)

export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GITSEAL_IDENTITY GITSEAL_ENV GITSEAL_REF GITSEAL_PIN_FILE GITSEAL_TRUST
export GIT_AUTHOR_NAME="Gitseal Bench" GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME="Gitseal Bench" GIT_COMMITTER_EMAIL=bench@example.com
export GITSEAL_IDENTITY_FILE=$work/identity
rm -rf "$work/repo" "$work/home" "$GITSEAL_IDENTITY_FILE"
mkdir -p "$work/home"
"$work/gitseal" keygen -o "$GITSEAL_IDENTITY_FILE" 2>/dev/null
git init -q -b main "$work/repo"
cd "$work/repo"
git config gc.auto 0
echo app >README && git add README && git commit -q -m app
"$work/gitseal" init >/dev/null 2>&1
printf 'startup-bench-value' | "$work/gitseal" set S 2>/dev/null

out=$("$DIR/bin/timeit" -n "$N" \
	@name=empty-go "$work/empty-go" ::: \
	@name=version "$work/gitseal" version ::: \
	@name=ls "$work/gitseal" ls ::: \
	@name=get "$work/gitseal" get S ::: \
	@name=git-show git show HEAD:.gitseal/default/secrets/S)
g=$(awk -F'\t' '$1 == "git-show" { print $2 }' <<<"$out")
echo "| command | median | quartiles | × git show |"
echo "|---|---|---|---|"
awk -F'\t' -v g="$g" '{ printf "| %s | %.2f ms | %.2f–%.2f | %.2f× |\n", $1, $2, $3, $4, $2 / g }' <<<"$out"
echo
echo "Medians of $N interleaved runs; $(nproc) cores, $(git --version), gitseal built with" \
	"CGO_ENABLED=${CGO_ENABLED-0} from $(cd "$root" && git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)."
