#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars (deploy/kafka/pom.xml) into a cache outside the repository,
# so a fresh clone on the same machine reuses them, and print that directory on stdout (alone:
# callers do `libs=$(deploy/kafka/fetch-jars.sh)`). Everything else goes to stderr.
#
#   FORDRA_KAFKA_LIBS  where the jars go (default: ~/.cache/fordra/kafka-VERSION/libs)
#
# Idempotent: a stamp holding the pom's checksum marks a complete fetch; with it present and the
# pom unchanged, this does nothing. A fetch goes to a temporary sibling directory that is renamed
# into place at the end, so an interrupted run never leaves a half-filled directory that looks done.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)
if [[ -z "$version" ]]; then
    echo "fetch-jars.sh: no <kafka.version> in $pom" >&2
    exit 1
fi
libs="${FORDRA_KAFKA_LIBS:-${HOME:?HOME is not set}/.cache/fordra/kafka-$version/libs}"
stamp="$libs/.fordra-fetched"
want=$(sha256sum "$pom" | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
    echo "fetch-jars.sh: Kafka $version jars already in $libs" >&2
    echo "$libs"
    exit 0
fi

for tool in java mvn; do
    if ! command -v "$tool" >/dev/null; then
        echo "fetch-jars.sh: '$tool' not found (Debian: apt-get install -y openjdk-17-jdk-headless maven)" >&2
        exit 1
    fi
done

echo "fetch-jars.sh: fetching Kafka $version jars with Maven into $libs" >&2
mkdir -p "$(dirname "$libs")"
tmp=$(mktemp -d "$libs.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# -q keeps Maven to errors; Debian's Maven 3.8 still prints bare colour resets, which sed drops so
# CI logs stay plain (pipefail keeps Maven's exit status).
mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1 \
    | sed -e 's/\x1b\[[0-9;]*m//g' | grep -v '^$' >&2 || [[ ${PIPESTATUS[0]} -eq 0 ]]
if ! compgen -G "$tmp/kafka_2.13-$version.jar" >/dev/null; then
    echo "fetch-jars.sh: Maven finished but kafka_2.13-$version.jar is missing from $tmp" >&2
    exit 1
fi
echo "$want" >"$tmp/.fordra-fetched"
chmod 0755 "$tmp"
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "fetch-jars.sh: $(find "$libs" -name '*.jar' | wc -l) jars in $libs" >&2
echo "$libs"
