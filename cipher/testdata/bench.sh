#!/bin/sh
# Named keys against bare AES-GCM, and Flet decryption against PBKDF2 alone,
# in one run: builds the cipher test binary once, runs every benchmark once per
# round (rounds interleave, so a noisy neighbour hits all of them alike), and
# prints per benchmark the median of the rounds, then the ratios.
#
# Usage, from the module root:  sh cipher/testdata/bench.sh [rounds]   (default 6)
set -eu
rounds=${1:-6}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/cipher.test" ./cipher
cd cipher # the benchmarks read testdata/ relative to the package
i=0
while [ "$i" -lt "$rounds" ]; do
	"$dir/cipher.test" -test.run '^$' -test.bench '^Benchmark(Encrypt|Decrypt|FletDecrypt|FletDecryptRest|PBKDF2_600k)$' -test.benchtime 1s >>"$dir/out"
	i=$((i + 1))
done
grep -E '^(goos|goarch|cpu):' "$dir/out" | sort -u
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (f = 3; f < NF; f++) if ($(f+1) == "ns/op") ns[name] = ns[name] " " $f
}
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
END {
	n = 0
	for (k in ns) { m[k] = median(ns[k]); names[++n] = k }
	for (i = 2; i <= n; i++) for (j = i; j > 1 && names[j-1] > names[j]; j--) { t = names[j]; names[j] = names[j-1]; names[j-1] = t }
	printf "\n%-36s %14s   (median of %d)\n", "benchmark", "ns/op", split(ns[names[1]], x, " ")
	for (i = 1; i <= n; i++) printf "%-36s %14.1f\n", names[i], m[names[i]]
	printf "\nthroughput of the named key as a share of the baseline (baseline ns / named ns):\n"
	split("Encrypt Decrypt", ops, " "); split("100B 1MiB", sizes, " ")
	for (o = 1; o <= 2; o++) for (s = 1; s <= 2; s++) {
		b = "Benchmark" ops[o] "/"; nm = m[b "named/" sizes[s]]
		printf "  %-8s %-5s  vs bare gcm: %5.1f%%   vs gcm+b64 (same text format): %5.1f%%\n", ops[o], sizes[s], 100 * m[b "gcm/" sizes[s]] / nm, 100 * m[b "gcm+b64/" sizes[s]] / nm
	}
	printf "\nFlet decrypt: PBKDF2_600k / FletDecrypt = %.1f%%;", 100 * m["BenchmarkPBKDF2_600k"] / m["BenchmarkFletDecrypt"]
	printf " the rest (FletDecryptRest) is %.4f%% of PBKDF2_600k\n", 100 * m["BenchmarkFletDecryptRest"] / m["BenchmarkPBKDF2_600k"]
}' "$dir/out"
