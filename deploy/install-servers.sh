#!/usr/bin/env bash
# Install what the distributed engine's servers need on a Debian 12 machine, as root, and say what
# was done. Idempotent: each step checks first and does nothing when its part is there.
#   - PostgreSQL server binaries (apt package postgresql), without the Debian "main" cluster:
#     fordra.devtools.localservers.LocalPostgres makes its own clusters, as the `postgres` user;
#   - Java 17+ and Maven (apt), to fetch and run the Kafka broker;
#   - the Kafka broker jars (deploy/kafka/fetch-jars.sh, into ~/.cache/fordra, from Maven Central);
#   - Chromium (apt), which the ops web's browser tests (tests/web) drive through Playwright.
# Used by .ci/run; developers run it once per machine.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DEBIAN_FRONTEND=noninteractive

say() { echo "install-servers: $*"; }

apt_updated=no
apt_install() {
    if [[ $(id -u) -ne 0 ]]; then
        say "need root to apt-get install $* (run this script as root, or install them yourself)" >&2
        exit 1
    fi
    if [[ $apt_updated == no ]]; then
        say "apt-get update"
        apt-get update -qq
        apt_updated=yes
    fi
    say "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The same search as LocalPostgres (find_postgres_bindir): pg_config, the newest
# /usr/lib/postgresql/N/bin, then PATH.
pg_bindir() {
    local dir
    if [[ -n "${FORDRA_PG_BINDIR:-}" && -x "$FORDRA_PG_BINDIR/initdb" ]]; then
        echo "$FORDRA_PG_BINDIR"
        return 0
    fi
    if command -v pg_config >/dev/null && dir=$(pg_config --bindir 2>/dev/null) \
        && [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
        echo "$dir"
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if dir=$(command -v initdb) && [[ -x "$(dirname "$dir")/pg_ctl" ]]; then
        dirname "$(readlink -f "$dir")"
        return 0
    fi
    return 1
}

# --- PostgreSQL -----------------------------------------------------------------------------------
if bindir=$(pg_bindir); then
    say "PostgreSQL server binaries present: $bindir ($("$bindir/postgres" --version))"
else
    # postgresql-common first, so that its createcluster.conf exists and can say "no main
    # cluster" before the server package's postinst would create and start one on port 5432.
    apt_install postgresql-common
    if command -v pg_conftool >/dev/null; then
        pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false
        say "create_main_cluster = false in /etc/postgresql-common/createcluster.conf"
    fi
    apt_install postgresql
    bindir=$(pg_bindir) || { say "PostgreSQL installed but no server binaries found" >&2; exit 1; }
    say "PostgreSQL installed: $bindir ($("$bindir/postgres" --version))"
fi
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    # LocalPostgres would create a system user of its own; say so rather than surprise.
    say "no 'postgres' OS user: LocalPostgres will create the system user fordra-postgres"
fi
for tool in runuser; do
    command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] \
        || { say "'$tool' missing (Debian package util-linux)" >&2; exit 1; }
done

# --- Java and Maven -------------------------------------------------------------------------------
java_major() {
    # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15 (on stderr)
    java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1
}
if ! command -v java >/dev/null || [[ $(java_major) -lt 17 ]]; then
    apt_install openjdk-17-jre-headless
fi
say "Java: $(java -version 2>&1 | head -n 1)"
if ! command -v mvn >/dev/null; then
    apt_install maven
fi
say "Maven: $(mvn -v 2>/dev/null | sed -e 's/\x1b\[[0-9;]*m//g' | head -n 1)"

# --- Kafka broker jars ----------------------------------------------------------------------------
libs=$(bash "$here/kafka/fetch-jars.sh")
say "Kafka jars: $libs ($(find "$libs" -name '*.jar' | wc -l) jars)"
# --- PEPPOL BIS Billing 3.0 rules (OpenPEPPOL's Schematron, compiled, from Maven Central) ---
rules=$(bash "$here/peppol/fetch-rules.sh")
say "PEPPOL rules: $rules (release $(cat "$rules/RELEASE"))"
# --- Chromium, for the ops web's browser tests (tests/web; Playwright drives it by its path) -------
if ! command -v chromium >/dev/null; then
    apt_install chromium
fi
say "Chromium: $(chromium --version 2>/dev/null | head -n 1)"
say "done"
